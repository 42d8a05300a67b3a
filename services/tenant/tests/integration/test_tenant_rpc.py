"""The tenant service's first RPCs, through a real in-process gRPC server and a real Postgres."""

from __future__ import annotations

import hashlib
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
from tenant.config import Settings
from tenant.server import build
from vellarys.tenant.v1 import tenant_pb2 as pb
from vellarys.tenant.v1 import tenant_pb2_grpc as pb_grpc


@pytest.fixture(scope="module")
async def stub(migrated, database_url) -> AsyncIterator[pb_grpc.TenantServiceStub]:
    url = migrated("tenant", tenant.__file__)
    settings = settings_for_tests(Settings, database_url, tenants_hard_limit=1000)
    engine = db.create_engine(url, pool_size=2, max_overflow=2, application_name="test-tenant")
    server = build(settings, engine, port=0)
    await server.start()
    channel = rpc.make_channel(f"127.0.0.1:{server.port}")
    yield pb_grpc.TenantServiceStub(channel)
    await channel.close()
    await server.stop(0)
    await engine.dispose()


# Creating tenants is the superadmin's; the tenant service re-checks the forwarded role.
SUPER = CallContext(tenant_id=str(uuid.uuid4()), actor_id=str(uuid.uuid4()), role="superadmin").metadata()


def slug() -> str:
    return f"imob-{uuid.uuid4().hex[:10]}"


class TestCreateTenant:
    async def test_creates_with_runbook_defaults(self, stub):
        reply = await stub.CreateTenant(
            pb.CreateTenantRequest(name="Imobiliária XYZ", slug=slug(), niche_id=1), metadata=SUPER
        )
        t = reply.tenant
        assert uuid.UUID(t.id)
        assert t.name == "Imobiliária XYZ"
        assert t.status == pb.TENANT_STATUS_ACTIVE
        assert (t.limits.leads_per_day_soft, t.limits.leads_per_day_hard) == (500, 2000)
        assert (t.limits.messages_per_minute_soft, t.limits.messages_per_minute_hard) == (100, 500)

    async def test_duplicate_slug_is_already_exists(self, stub):
        s = slug()
        await stub.CreateTenant(pb.CreateTenantRequest(name="A", slug=s, niche_id=1), metadata=SUPER)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.CreateTenant(pb.CreateTenantRequest(name="B", slug=s, niche_id=1), metadata=SUPER)
        assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
        assert s in err.value.details()

    @pytest.mark.parametrize("bad", ["Imob", "-imob", "imob-", "im--ob", "imob_xyz", "", "a" * 64])
    async def test_invalid_slug_is_invalid_argument(self, stub, bad):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.CreateTenant(pb.CreateTenantRequest(name="A", slug=bad, niche_id=1), metadata=SUPER)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "slug" in err.value.details()

    async def test_unknown_niche(self, stub):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.CreateTenant(
                pb.CreateTenantRequest(name="A", slug=slug(), niche_id=999), metadata=SUPER
            )
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "niche_id 999" in err.value.details()


class TestGetTenant:
    async def test_round_trip(self, stub):
        created = (
            await stub.CreateTenant(pb.CreateTenantRequest(name="X", slug=slug(), niche_id=2), metadata=SUPER)
        ).tenant
        got = (await stub.GetTenant(pb.GetTenantRequest(tenant_id=created.id))).tenant
        assert got == created

    async def test_unknown_and_malformed_ids(self, stub):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.GetTenant(pb.GetTenantRequest(tenant_id=str(uuid.uuid4())))
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.GetTenant(pb.GetTenantRequest(tenant_id="nope"))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


class TestResolveChannel:
    async def _channel(self, database_url, tenant_id: str, provider: str, external_id: str, token: str):
        # Channels are created by the settings API (a later issue); insert one directly as the owner.
        conn = await asyncpg.connect(asyncpg_dsn(database_url))
        try:
            await conn.execute(
                "INSERT INTO tenant.channels (id, tenant_id, provider, external_id, webhook_token_hash)"
                " VALUES ($1, $2, $3, $4, $5)",
                uuid.uuid4(),
                uuid.UUID(tenant_id),
                provider,
                external_id,
                hashlib.sha256(token.encode()).hexdigest(),
            )
        finally:
            await conn.close()

    async def test_by_external_id_and_by_token(self, stub, database_url):
        t = (
            await stub.CreateTenant(pb.CreateTenantRequest(name="X", slug=slug(), niche_id=1), metadata=SUPER)
        ).tenant
        instance, token = uuid.uuid4().hex, uuid.uuid4().hex
        await self._channel(database_url, t.id, "zapi", instance, token)
        by_id = await stub.ResolveChannel(
            pb.ResolveChannelRequest(provider=pb.PROVIDER_ZAPI, external_id=instance)
        )
        assert by_id.tenant.id == t.id and by_id.channel.external_id == instance
        by_token = await stub.ResolveChannel(
            pb.ResolveChannelRequest(provider=pb.PROVIDER_ZAPI, webhook_token=token)
        )
        assert by_token.channel.id == by_id.channel.id

    async def test_wrong_provider_or_token_is_not_found(self, stub, database_url):
        t = (
            await stub.CreateTenant(pb.CreateTenantRequest(name="X", slug=slug(), niche_id=1), metadata=SUPER)
        ).tenant
        instance, token = uuid.uuid4().hex, uuid.uuid4().hex
        await self._channel(database_url, t.id, "zapi", instance, token)
        for request in (
            pb.ResolveChannelRequest(provider=pb.PROVIDER_META, external_id=instance),
            pb.ResolveChannelRequest(provider=pb.PROVIDER_META, webhook_token=token),
            pb.ResolveChannelRequest(provider=pb.PROVIDER_ZAPI, webhook_token="forged"),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.ResolveChannel(request)
            assert err.value.code() == grpc.StatusCode.NOT_FOUND


class TestHealth:
    async def test_serving_when_database_answers(self, stub, migrated, database_url):
        url = migrated("tenant", tenant.__file__)
        engine = db.create_engine(url, pool_size=1, max_overflow=0, application_name="t")
        server = build(settings_for_tests(Settings, database_url), engine, port=0)
        await server.start()
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            for _ in range(50):
                if await rpc.check_health(channel) == "SERVING":
                    break
                import asyncio

                await asyncio.sleep(0.05)
            assert await rpc.check_health(channel, "vellarys.tenant.v1.TenantService") == "SERVING"
        await server.stop(0)
        await engine.dispose()
