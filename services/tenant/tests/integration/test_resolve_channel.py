"""ResolveChannel (webhook routing) answers from one joined query: same answers, same error codes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import grpc
import pytest

import tenant
from kit import db, rpc
from kit.context import CallContext
from kit.dbadmin import asyncpg_dsn
from kit.testing import settings_for_tests
from tenant import service
from tenant.config import Settings
from tenant.server import build
from vellarys.tenant.v1 import tenant_pb2 as pb
from vellarys.tenant.v1 import tenant_pb2_grpc as pb_grpc

SUPER = CallContext(tenant_id=str(uuid.uuid4()), actor_id=str(uuid.uuid4()), role="superadmin").metadata()
SERVICE = CallContext(role="service").metadata()
META_SECRETS = {"access_token": "EAAG-sending-credential-0001", "app_secret": "app-secret-0123456789"}


@pytest.fixture(scope="module")
async def stub(migrated, database_url) -> AsyncIterator[pb_grpc.TenantServiceStub]:
    url = migrated("tenant", tenant.__file__)
    settings = settings_for_tests(Settings, database_url, tenants_hard_limit=1000)
    engine = db.create_engine(url, pool_size=2, max_overflow=2, application_name="test-resolve")
    server = build(settings, engine, port=0)
    await server.start()
    channel = rpc.make_channel(f"127.0.0.1:{server.port}")
    yield pb_grpc.TenantServiceStub(channel)
    await channel.close()
    await server.stop(0)
    await engine.dispose()


def admin(tenant_id: str) -> tuple[tuple[str, str], ...]:
    return CallContext(tenant_id=tenant_id, actor_id=str(uuid.uuid4()), role="admin").metadata()


async def new_tenant(stub, **limits: int) -> pb.Tenant:
    request = pb.CreateTenantRequest(
        name="Imob Rota", slug=f"r-{uuid.uuid4().hex[:10]}", niche_id=1, limits=pb.PlanLimits(**limits)
    )
    return (await stub.CreateTenant(request, metadata=SUPER)).tenant


async def new_channel(
    stub, tenant_id: str, provider=pb.PROVIDER_META, channel_secrets=None
) -> tuple[pb.ChannelConfig, str]:
    request = pb.CreateChannelRequest(
        provider=provider,
        name="Matriz",
        external_id=f"pn-{uuid.uuid4().hex[:12]}",
        phone_number="5541999990000",
        secrets=META_SECRETS if channel_secrets is None else channel_secrets,
    )
    channel = (await stub.CreateChannel(request, metadata=admin(tenant_id))).channel
    return channel, channel.webhook_path.rsplit("/", 1)[1]


async def code_of(call) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    return err.value.code()


class TestResolveChannel:
    async def test_answer_matches_the_tenant_and_channel_records(self, stub):
        t = await new_tenant(stub, leads_per_day_soft=7, leads_per_day_hard=9)
        channel, token = await new_channel(stub, t.id)
        for request in (
            pb.ResolveChannelRequest(provider=pb.PROVIDER_META, webhook_token=token),
            pb.ResolveChannelRequest(provider=pb.PROVIDER_META, external_id=channel.external_id),
        ):
            reply = await stub.ResolveChannel(request, metadata=SERVICE)
            assert reply.tenant == (await stub.GetTenant(pb.GetTenantRequest(tenant_id=t.id))).tenant
            assert reply.tenant.limits.leads_per_day_soft == 7
            assert reply.channel == pb.Channel(
                id=channel.id,
                tenant_id=t.id,
                provider=pb.PROVIDER_META,
                external_id=channel.external_id,
                phone_number="5541999990000",
                active=True,
            )

    async def test_verification_holds_only_the_webhook_secrets(self, stub):
        t = await new_tenant(stub)
        _, token = await new_channel(stub, t.id)
        reply = await stub.ResolveChannel(
            pb.ResolveChannelRequest(provider=pb.PROVIDER_META, webhook_token=token), metadata=SERVICE
        )
        # Meta channels get a generated verify_token; the sending access_token never leaves.
        assert set(reply.verification) == {"app_secret", "verify_token"}
        assert reply.verification["app_secret"] == META_SECRETS["app_secret"]
        d360, _ = await new_channel(
            stub, t.id, pb.PROVIDER_DIALOG360, {"api_key": "d360-api-key-000001", "webhook_secret": "whs-1"}
        )
        reply = await stub.ResolveChannel(
            pb.ResolveChannelRequest(provider=pb.PROVIDER_DIALOG360, external_id=d360.external_id)
        )
        assert dict(reply.verification) == {"webhook_secret": "whs-1"}
        zapi, _ = await new_channel(stub, t.id, pb.PROVIDER_ZAPI, {"token": "zapi-token-000000001"})
        reply = await stub.ResolveChannel(
            pb.ResolveChannelRequest(provider=pb.PROVIDER_ZAPI, external_id=zapi.external_id)
        )
        assert dict(reply.verification) == {}

    async def test_secret_change_is_seen_by_the_next_call(self, stub):
        t = await new_tenant(stub)
        channel, token = await new_channel(stub, t.id)
        await stub.UpdateChannel(
            pb.UpdateChannelRequest(channel_id=channel.id, secrets={"app_secret": "rotated-app-secret-2"}),
            metadata=admin(t.id),
        )
        reply = await stub.ResolveChannel(
            pb.ResolveChannelRequest(provider=pb.PROVIDER_META, webhook_token=token)
        )
        assert reply.verification["app_secret"] == "rotated-app-secret-2"

    async def test_each_channel_answers_its_own_tenant(self, stub):
        first, second = await new_tenant(stub), await new_tenant(stub)
        one, one_token = await new_channel(stub, first.id)
        two, two_token = await new_channel(
            stub, second.id, channel_secrets={**META_SECRETS, "app_secret": "second-tenant-secret"}
        )
        a = await stub.ResolveChannel(
            pb.ResolveChannelRequest(provider=pb.PROVIDER_META, webhook_token=one_token)
        )
        b = await stub.ResolveChannel(
            pb.ResolveChannelRequest(provider=pb.PROVIDER_META, webhook_token=two_token)
        )
        assert (a.tenant.id, a.channel.id, a.channel.tenant_id) == (first.id, one.id, first.id)
        assert (b.tenant.id, b.channel.id, b.channel.tenant_id) == (second.id, two.id, second.id)
        assert a.verification["app_secret"] == META_SECRETS["app_secret"]
        assert b.verification["app_secret"] == "second-tenant-secret"

    async def test_token_wins_over_external_id(self, stub):
        t = await new_tenant(stub)
        one, one_token = await new_channel(stub, t.id)
        two, _ = await new_channel(stub, t.id)
        reply = await stub.ResolveChannel(
            pb.ResolveChannelRequest(
                provider=pb.PROVIDER_META, webhook_token=one_token, external_id=two.external_id
            )
        )
        assert reply.channel.id == one.id
        forged = pb.ResolveChannelRequest(
            provider=pb.PROVIDER_META, webhook_token="forged", external_id=two.external_id
        )
        assert await code_of(stub.ResolveChannel(forged)) == grpc.StatusCode.NOT_FOUND

    async def test_inactive_channel_is_not_found(self, stub):
        t = await new_tenant(stub)
        channel, token = await new_channel(stub, t.id)
        await stub.UpdateChannel(
            pb.UpdateChannelRequest(channel_id=channel.id, active=False), metadata=admin(t.id)
        )
        for request in (
            pb.ResolveChannelRequest(provider=pb.PROVIDER_META, webhook_token=token),
            pb.ResolveChannelRequest(provider=pb.PROVIDER_META, external_id=channel.external_id),
        ):
            assert await code_of(stub.ResolveChannel(request)) == grpc.StatusCode.NOT_FOUND

    async def test_suspended_tenant_still_resolves_with_its_status(self, stub):
        # The gateway answers suspended tenants itself; routing must still say whose channel it is.
        t = await new_tenant(stub)
        channel, token = await new_channel(stub, t.id)
        await stub.SuspendTenant(pb.SuspendTenantRequest(tenant_id=t.id), metadata=SUPER)
        reply = await stub.ResolveChannel(
            pb.ResolveChannelRequest(provider=pb.PROVIDER_META, webhook_token=token)
        )
        assert reply.tenant.status == pb.TENANT_STATUS_SUSPENDED and reply.channel.id == channel.id

    async def test_bad_requests_are_invalid_argument(self, stub):
        for request in (
            pb.ResolveChannelRequest(provider=pb.PROVIDER_UNSPECIFIED, webhook_token="x"),
            pb.ResolveChannelRequest(provider=pb.PROVIDER_META),
        ):
            assert await code_of(stub.ResolveChannel(request)) == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_broken_pooled_connection_is_dropped_not_reused(migrated, database_url):
    """The query bypasses SQLAlchemy's execution, so the repository must invalidate on its own."""
    url = migrated("tenant", tenant.__file__)
    name = f"test-resolve-{uuid.uuid4().hex[:8]}"
    engine = db.create_engine(url, pool_size=1, max_overflow=0, application_name=name)
    server = build(settings_for_tests(Settings, database_url, tenants_hard_limit=1000), engine, port=0)
    await server.start()
    channel = rpc.make_channel(f"127.0.0.1:{server.port}")
    try:
        stub = pb_grpc.TenantServiceStub(channel)
        t = await new_tenant(stub)
        _, token = await new_channel(stub, t.id)
        request = pb.ResolveChannelRequest(provider=pb.PROVIDER_META, webhook_token=token)
        assert (await stub.ResolveChannel(request)).tenant.id == t.id
        owner = await asyncpg.connect(asyncpg_dsn(database_url))
        try:  # what a database restart does to the one pooled connection
            killed = await owner.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
                name,
            )
        finally:
            await owner.close()
        assert killed == 1
        assert await code_of(stub.ResolveChannel(request)) == grpc.StatusCode.INTERNAL
        assert (await stub.ResolveChannel(request)).tenant.id == t.id
    finally:
        await channel.close()
        await server.stop(0)
        await engine.dispose()


class TestRoutingEpoch:
    async def epoch(self, stub) -> int:
        return (await stub.GetRoutingEpoch(pb.GetRoutingEpochRequest(), metadata=SERVICE)).epoch

    async def test_moves_with_every_change_a_routing_answer_depends_on(self, stub):
        t = await new_tenant(stub)
        before = await self.epoch(stub)
        channel, _ = await new_channel(stub, t.id)
        assert await self.epoch(stub) > before, "a new channel"
        doomed, _ = await new_channel(stub, t.id)

        # Made one at a time: a gRPC call starts as soon as it is created.
        changes = {
            "secret rotated": lambda: stub.UpdateChannel(
                pb.UpdateChannelRequest(
                    tenant_id=t.id, channel_id=channel.id, secrets={"app_secret": "rotated-0001"}
                ),
                metadata=admin(t.id),
            ),
            "channel deactivated": lambda: stub.UpdateChannel(
                pb.UpdateChannelRequest(tenant_id=t.id, channel_id=channel.id, active=False),
                metadata=admin(t.id),
            ),
            "limits changed": lambda: stub.UpdateTenant(
                pb.UpdateTenantRequest(tenant_id=t.id, limits=pb.PlanLimits(messages_per_minute_hard=900)),
                metadata=SUPER,
            ),
            "channel deleted": lambda: stub.DeleteChannel(
                pb.DeleteChannelRequest(tenant_id=t.id, channel_id=doomed.id), metadata=admin(t.id)
            ),
            "tenant suspended": lambda: stub.SuspendTenant(
                pb.SuspendTenantRequest(tenant_id=t.id), metadata=SUPER
            ),
        }
        for what, change in changes.items():
            before = await self.epoch(stub)
            await change()
            assert await self.epoch(stub) > before, what

    async def test_stays_put_for_changes_routing_does_not_read(self, stub):
        t = await new_tenant(stub)
        before = await self.epoch(stub)
        await stub.UpdateTenant(pb.UpdateTenantRequest(tenant_id=t.id, name="Outro Nome"), metadata=SUPER)
        assert await self.epoch(stub) == before


async def reply_data_changes(stub, tenant_id: str) -> dict[str, Callable[[], Awaitable[object]]]:
    """Every kind of change to what the ai service reads of a tenant, each made when called."""
    md = admin(tenant_id)
    product = pb.ProductInput(code="AP-1", title="Apto no Batel", neighbourhood="Batel")
    created = (await stub.CreateProduct(pb.CreateProductRequest(product=product), metadata=md)).product
    settings = pb.UpdateAiSettingsRequest(
        tenant_id=tenant_id, settings=pb.AiSettings(greeting="Olá!"), fields=["greeting"]
    )
    # Made one at a time: a gRPC call starts as soon as it is created.
    return {
        "settings updated": lambda: stub.UpdateAiSettings(settings, metadata=md),
        "settings rolled back": lambda: stub.RollbackAiSettings(
            pb.RollbackAiSettingsRequest(tenant_id=tenant_id, version=1), metadata=md
        ),
        "product created": lambda: stub.CreateProduct(
            pb.CreateProductRequest(product=pb.ProductInput(code="AP-2", title="Casa")), metadata=md
        ),
        "product updated": lambda: stub.UpdateProduct(
            pb.UpdateProductRequest(
                product_id=created.id,
                product=pb.ProductInput(status=pb.PRODUCT_STATUS_SOLD),
                fields=["status"],
            ),
            metadata=md,
        ),
        "product deleted": lambda: stub.DeleteProduct(
            pb.DeleteProductRequest(product_id=created.id), metadata=md
        ),
        "tenant renamed": lambda: stub.UpdateTenant(
            pb.UpdateTenantRequest(tenant_id=tenant_id, name="Outro Nome"), metadata=SUPER
        ),
    }


class TestReplyDataEpoch:
    """The counter the ai service follows for what it caches: settings, catalog, niche prompt."""

    async def epochs(self, stub) -> tuple[int, int]:
        reply = await stub.GetRoutingEpoch(pb.GetRoutingEpochRequest(), metadata=SERVICE)
        return reply.epoch, reply.reply_data_epoch

    async def test_moves_with_every_change_a_reply_reads(self, stub):
        t = await new_tenant(stub)
        changes = await reply_data_changes(stub, t.id)
        for what, change in changes.items():
            routing, before = await self.epochs(stub)
            await change()
            after = await self.epochs(stub)
            assert after[1] > before, what
            assert after[0] == routing, f"{what} moved the routing epoch too"

    async def test_stays_put_for_changes_replies_do_not_read(self, stub):
        t = await new_tenant(stub)
        _, before = await self.epochs(stub)
        channel, _ = await new_channel(stub, t.id)
        await stub.UpdateChannel(
            pb.UpdateChannelRequest(tenant_id=t.id, channel_id=channel.id, active=False), metadata=admin(t.id)
        )
        await stub.UpdateTenant(
            pb.UpdateTenantRequest(tenant_id=t.id, limits=pb.PlanLimits(messages_per_minute_hard=900)),
            metadata=SUPER,
        )
        assert (await self.epochs(stub))[1] == before


class TestReplyDataChanges:
    """GetReplyDataChanges names the tenants whose reply data changed, so ai refreshes only those."""

    async def changes(self, stub, since: int) -> pb.GetReplyDataChangesResponse:
        return await stub.GetReplyDataChanges(pb.GetReplyDataChangesRequest(since_epoch=since))

    async def now(self, stub) -> int:
        return (await stub.GetRoutingEpoch(pb.GetRoutingEpochRequest(), metadata=SERVICE)).reply_data_epoch

    async def test_names_only_the_tenant_that_changed(self, stub):
        changed, other = await new_tenant(stub), await new_tenant(stub)
        await stub.CreateProduct(
            pb.CreateProductRequest(product=pb.ProductInput(code="B-1", title="Sala")),
            metadata=admin(other.id),
        )
        for what, change in (await reply_data_changes(stub, changed.id)).items():
            since = await self.now(stub)
            await change()
            answer = await self.changes(stub, since)
            assert not answer.everyone and list(answer.tenant_ids) == [changed.id], what
            assert answer.reply_data_epoch == await self.now(stub) > since, what
            # Asked again from the epoch it answered: nothing new.
            again = await self.changes(stub, answer.reply_data_epoch)
            assert not again.everyone and list(again.tenant_ids) == [], what

    async def test_lists_every_tenant_changed_since(self, stub):
        first, second = await new_tenant(stub), await new_tenant(stub)
        since = await self.now(stub)
        for t in (first, second, first):
            await stub.CreateProduct(
                pb.CreateProductRequest(product=pb.ProductInput(code=uuid.uuid4().hex[:8], title="Lote")),
                metadata=admin(t.id),
            )
        answer = await self.changes(stub, since)
        assert sorted(answer.tenant_ids) == sorted([first.id, second.id]) and not answer.everyone

    async def test_statements_that_change_nothing_read_move_nothing(self, stub, database_url):
        t = await new_tenant(stub)
        since = await self.now(stub)
        owner = await asyncpg.connect(asyncpg_dsn(database_url))
        try:
            await owner.execute("UPDATE tenant.products SET title = title WHERE false")
            await owner.execute("DELETE FROM tenant.ai_settings_versions WHERE false")
            # The limits are not reply data, and a name set to itself changes nothing.
            await owner.execute(
                "UPDATE tenant.tenants SET name = name, leads_per_day_soft = 3 WHERE id = $1", uuid.UUID(t.id)
            )
        finally:
            await owner.close()
        assert await self.now(stub) == since

    async def test_everyone_when_a_niche_changes_or_the_epoch_is_unknown(self, stub, database_url):
        since = await self.now(stub)
        owner = await asyncpg.connect(asyncpg_dsn(database_url))
        try:
            await owner.execute("UPDATE tenant.niches SET prompt_template = prompt_template WHERE id = 1")
        finally:
            await owner.close()
        answer = await self.changes(stub, since)
        assert answer.everyone and list(answer.tenant_ids) == [] and answer.reply_data_epoch > since
        assert not (await self.changes(stub, answer.reply_data_epoch)).everyone
        assert (await self.changes(stub, 0)).everyone  # no epoch seen yet
        assert (await self.changes(stub, answer.reply_data_epoch + 1_000)).everyone  # a restored database

    async def test_everyone_past_the_cap(self, stub, monkeypatch):
        monkeypatch.setattr(service, "REPLY_DATA_CHANGES_MAX", 2)
        tenants = [await new_tenant(stub) for _ in range(3)]
        since = await self.now(stub)
        for t in tenants[:2]:
            await stub.UpdateTenant(pb.UpdateTenantRequest(tenant_id=t.id, name="Novo"), metadata=SUPER)
        assert len((await self.changes(stub, since)).tenant_ids) == 2
        await stub.UpdateTenant(pb.UpdateTenantRequest(tenant_id=tenants[2].id, name="Novo"), metadata=SUPER)
        answer = await self.changes(stub, since)
        assert answer.everyone and list(answer.tenant_ids) == []

    async def test_no_user_role_may_ask(self, stub):
        t = await new_tenant(stub)
        request = pb.GetReplyDataChangesRequest(since_epoch=1)
        for metadata in (admin(t.id), SUPER, SERVICE):
            code = await code_of(stub.GetReplyDataChanges(request, metadata=metadata))
            assert code == grpc.StatusCode.PERMISSION_DENIED
