"""Channels (encrypted, masked secrets; webhook tokens) and versioned AI settings, through gRPC."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import grpc
import pytest

import tenant
from kit import db, rpc
from kit.context import CallContext
from kit.dbadmin import asyncpg_dsn
from kit.testing import settings_for_tests
from tenant import domain, settings_service
from tenant.config import Settings
from tenant.crypto import SecretBox
from tenant.server import build
from vellarys.tenant.v1 import tenant_pb2 as pb
from vellarys.tenant.v1 import tenant_pb2_grpc as pb_grpc

SUPER = CallContext(tenant_id=str(uuid.uuid4()), actor_id=str(uuid.uuid4()), role="superadmin").metadata()
ZAPI_TOKEN = "zapi-token-0123456789ABCDEF"


@pytest.fixture(scope="module")
async def env(
    migrated, database_url
) -> AsyncIterator[tuple[pb_grpc.TenantServiceStub, str, object, Settings]]:
    url = migrated("tenant", tenant.__file__)
    settings = settings_for_tests(Settings, database_url, tenants_hard_limit=1000)
    engine = db.create_engine(url, pool_size=2, max_overflow=2, application_name="test-settings")
    server = build(settings, engine, port=0)
    await server.start()
    channel = rpc.make_channel(f"127.0.0.1:{server.port}")
    yield pb_grpc.TenantServiceStub(channel), url, engine, settings
    await channel.close()
    await server.stop(0)
    await engine.dispose()


@pytest.fixture
def stub(env) -> pb_grpc.TenantServiceStub:
    return env[0]


def as_role(tenant_id: str, role: str = "admin") -> tuple[tuple[str, str], ...]:
    return CallContext(tenant_id=tenant_id, actor_id=str(uuid.uuid4()), role=role).metadata()


async def new_tenant(stub) -> str:
    request = pb.CreateTenantRequest(name="Imob Teste", slug=f"s-{uuid.uuid4().hex[:10]}", niche_id=1)
    return (await stub.CreateTenant(request, metadata=SUPER)).tenant.id


async def zapi_channel(stub, tenant_id: str) -> pb.ChannelConfig:
    request = pb.CreateChannelRequest(
        provider=pb.PROVIDER_ZAPI, name="Loja", external_id=f"inst-{uuid.uuid4().hex[:8]}",
        phone_number="+5541999990000", secrets={"token": ZAPI_TOKEN, "client_token": "client-token-XYZ9876"},
    )  # fmt: skip
    return (await stub.CreateChannel(request, metadata=as_role(tenant_id))).channel


async def expect(code: grpc.StatusCode, call) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    assert err.value.code() == code, err.value.details()
    return err.value.details() or ""


class TestChannels:
    async def test_secrets_are_encrypted_at_rest_and_masked(self, stub, env):
        tenant_id = await new_tenant(stub)
        channel = await zapi_channel(stub, tenant_id)
        assert channel.masked_secrets["token"] == "••••CDEF"
        assert ZAPI_TOKEN not in str(channel)
        conn = await asyncpg.connect(asyncpg_dsn(env[1]))
        try:
            raw = await conn.fetchrow("SELECT * FROM tenant.channels WHERE id = $1", uuid.UUID(channel.id))
        finally:
            await conn.close()
        assert raw["secrets_encrypted"] and ZAPI_TOKEN not in raw["secrets_encrypted"]
        token = channel.webhook_path.rsplit("/", 1)[1]
        assert channel.webhook_path == f"/api/v1/webhook/zapi/{token}"
        assert raw["webhook_token_hash"] == domain.token_hash(token)
        assert token not in raw["webhook_token_encrypted"]

    async def test_webhook_token_resolves_and_rotation_invalidates_it(self, stub):
        tenant_id = await new_tenant(stub)
        channel = await zapi_channel(stub, tenant_id)
        old = channel.webhook_path.rsplit("/", 1)[1]
        resolved = await stub.ResolveChannel(
            pb.ResolveChannelRequest(provider=pb.PROVIDER_ZAPI, webhook_token=old)
        )
        assert resolved.channel.id == channel.id
        rotated = (
            await stub.RotateChannelToken(
                pb.RotateChannelTokenRequest(channel_id=channel.id), metadata=as_role(tenant_id)
            )
        ).channel
        new = rotated.webhook_path.rsplit("/", 1)[1]
        assert new != old
        await expect(
            grpc.StatusCode.NOT_FOUND,
            stub.ResolveChannel(pb.ResolveChannelRequest(provider=pb.PROVIDER_ZAPI, webhook_token=old)),
        )

    async def test_update_merges_secrets_and_credentials_need_service_role(self, stub):
        tenant_id = await new_tenant(stub)
        channel = await zapi_channel(stub, tenant_id)
        updated = (
            await stub.UpdateChannel(
                pb.UpdateChannelRequest(
                    channel_id=channel.id, name="Matriz", secrets={"token": "new-token-abcdefgh1"}
                ),
                metadata=as_role(tenant_id),
            )
        ).channel
        assert updated.name == "Matriz" and updated.masked_secrets["token"] == "••••fgh1"
        await expect(
            grpc.StatusCode.PERMISSION_DENIED,
            stub.GetChannelCredentials(
                pb.GetChannelCredentialsRequest(channel_id=channel.id), metadata=as_role(tenant_id)
            ),
        )
        creds = await stub.GetChannelCredentials(
            pb.GetChannelCredentialsRequest(channel_id=channel.id), metadata=as_role(tenant_id, "service")
        )
        assert dict(creds.secrets) == {"token": "new-token-abcdefgh1", "client_token": "client-token-XYZ9876"}

    async def test_validation(self, stub):
        tenant_id = await new_tenant(stub)
        md = as_role(tenant_id)
        details = await expect(
            grpc.StatusCode.INVALID_ARGUMENT,
            stub.CreateChannel(
                pb.CreateChannelRequest(
                    provider=pb.PROVIDER_META, external_id="123", secrets={"access_token": "x"}
                ),
                metadata=md,
            ),
        )
        assert "app_secret" in details
        details = await expect(
            grpc.StatusCode.INVALID_ARGUMENT,
            stub.CreateChannel(
                pb.CreateChannelRequest(
                    provider=pb.PROVIDER_GUPSHUP, external_id="app", secrets={"token": "x"}
                ),
                metadata=md,
            ),
        )
        assert "token" in details
        meta = await stub.CreateChannel(
            pb.CreateChannelRequest(
                provider=pb.PROVIDER_META, external_id=f"{uuid.uuid4().int % 10**15}",
                secrets={"access_token": "EAAG-long-access-token", "app_secret": "app-secret-1234567"},
            ),
            metadata=md,
        )  # fmt: skip
        assert set(meta.channel.masked_secrets) == {"access_token", "app_secret", "verify_token"}

    async def test_other_tenant_and_roles(self, stub):
        owner, other = await new_tenant(stub), await new_tenant(stub)
        channel = await zapi_channel(stub, owner)
        get = pb.GetChannelRequest(channel_id=channel.id)
        await expect(grpc.StatusCode.NOT_FOUND, stub.GetChannel(get, metadata=as_role(other)))
        await expect(
            grpc.StatusCode.NOT_FOUND,
            stub.DeleteChannel(pb.DeleteChannelRequest(channel_id=channel.id), metadata=as_role(other)),
        )
        await expect(
            grpc.StatusCode.NOT_FOUND,
            stub.ListChannels(pb.ListChannelsRequest(tenant_id=owner), metadata=as_role(other)),
        )
        await expect(
            grpc.StatusCode.PERMISSION_DENIED, stub.GetChannel(get, metadata=as_role(owner, "seller"))
        )
        assert await stub.GetChannel(
            pb.GetChannelRequest(tenant_id=owner, channel_id=channel.id), metadata=SUPER
        )
        await stub.DeleteChannel(pb.DeleteChannelRequest(channel_id=channel.id), metadata=as_role(owner))
        listed = await stub.ListChannels(pb.ListChannelsRequest(), metadata=as_role(owner))
        assert list(listed.channels) == []

    async def test_seed_zapi_channel_is_idempotent(self, stub, env):
        tenant_id = await new_tenant(stub)
        box = SecretBox(env[3].secret_key)
        sessions = db.session_factory(env[2])
        for token in ("seed-token-11111111", "seed-token-22222222"):
            async with sessions.begin() as session:
                await settings_service.configure_seed_zapi_channel(
                    session, uuid.UUID(tenant_id), "seed-instance", token, "", box=box
                )
        listed = (await stub.ListChannels(pb.ListChannelsRequest(), metadata=as_role(tenant_id))).channels
        assert len(listed) == 1 and listed[0].masked_secrets["token"] == "••••2222"


def settings_update(**values) -> pb.UpdateAiSettingsRequest:
    return pb.UpdateAiSettingsRequest(settings=pb.AiSettings(**values), fields=list(values))


class TestAiSettings:
    async def test_defaults_then_versions_diff_and_rollback(self, stub):
        tenant_id = await new_tenant(stub)
        md = as_role(tenant_id)
        current = (await stub.GetAiSettings(pb.GetAiSettingsRequest(), metadata=md)).current
        assert current.version == 0
        assert current.settings.model == "gpt-4o" and "Imob Teste" in current.settings.system_prompt
        v1 = (
            await stub.UpdateAiSettings(settings_update(tone="formal", temperature=0.2), metadata=md)
        ).current
        v2 = (await stub.UpdateAiSettings(settings_update(tone="descontraído"), metadata=md)).current
        assert (v1.version, v2.version) == (1, 2)
        assert v2.settings.temperature == pytest.approx(0.2)
        assert v2.actor_id
        diff = (
            await stub.DiffAiSettings(pb.DiffAiSettingsRequest(from_version=0, to_version=2), metadata=md)
        ).changes
        assert {c.field: (c.from_value, c.to_value) for c in diff}["tone"][1] == '"descontraído"'
        assert {c.field for c in diff} == {"tone", "temperature"}
        back = (await stub.RollbackAiSettings(pb.RollbackAiSettingsRequest(version=1), metadata=md)).current
        assert (back.version, back.rolled_back_from, back.settings.tone) == (3, 1, "formal")
        versions = (
            await stub.ListAiSettingsVersions(pb.ListAiSettingsVersionsRequest(), metadata=md)
        ).versions
        assert [v.version for v in versions] == [3, 2, 1]
        got = (
            await stub.GetAiSettingsVersion(pb.GetAiSettingsVersionRequest(version=2), metadata=md)
        ).version
        assert got.settings.tone == "descontraído"

    async def test_validation_and_isolation(self, stub):
        tenant_id, other = await new_tenant(stub), await new_tenant(stub)
        md = as_role(tenant_id)
        details = await expect(
            grpc.StatusCode.INVALID_ARGUMENT,
            stub.UpdateAiSettings(settings_update(temperature=2.5), metadata=md),
        )
        assert "temperature" in details
        await expect(
            grpc.StatusCode.NOT_FOUND,
            stub.GetAiSettingsVersion(pb.GetAiSettingsVersionRequest(version=9), metadata=md),
        )
        await stub.UpdateAiSettings(settings_update(tone="só meu"), metadata=md)
        await expect(
            grpc.StatusCode.NOT_FOUND,
            stub.GetAiSettings(pb.GetAiSettingsRequest(tenant_id=tenant_id), metadata=as_role(other)),
        )
        theirs = (await stub.GetAiSettings(pb.GetAiSettingsRequest(), metadata=as_role(other))).current
        assert theirs.version == 0
        await expect(
            grpc.StatusCode.PERMISSION_DENIED,
            stub.GetAiSettings(pb.GetAiSettingsRequest(), metadata=as_role(tenant_id, "viewer")),
        )
