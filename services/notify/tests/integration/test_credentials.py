"""notify's channel-credentials cache against a real tenant server on 127.0.0.1, on a controlled clock:
single-flight, stale-while-revalidate, the staleness bound, not-found caching, the tenant check, forget
and errors. A gRPC client interceptor counts the GetChannelCredentials calls that reach the wire."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import pytest

import tenant
from kit import db
from kit.context import CallContext
from kit.testing import settings_for_tests
from notify.clients import ChannelNotFound, Credentials
from tenant.config import Settings as TenantSettings
from tenant.server import build as build_tenant
from vellarys.tenant.v1 import tenant_pb2 as tpb

TTL = 30.0
ZAPI_SECRETS = {"token": "zapi-instance-token-123", "client_token": "zapi-client-token-456"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountCredentialCalls(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    def __init__(self) -> None:
        self.calls = 0

    async def intercept_unary_unary(
        self, continuation: Callable[..., Awaitable[Any]], details: Any, request: Any
    ) -> Any:
        method = details.method.decode() if isinstance(details.method, bytes) else details.method
        if method.endswith("/GetChannelCredentials"):
            self.calls += 1
        return await continuation(details, request)


class Cached:
    """A Credentials cache on its own counted channel and clock."""

    def __init__(self, addr: str) -> None:
        self.clock = Clock()
        self.counter = CountCredentialCalls()
        self.channel = grpc.aio.insecure_channel(addr, interceptors=[self.counter])
        self.credentials = Credentials(self.channel, TTL, deadline=5.0, clock=self.clock)

    @property
    def calls(self) -> int:
        return self.counter.calls

    def at(self, seconds: float) -> None:
        """The clock `seconds` after the test began (its first fetch)."""
        self.clock.now = 1000.0 + seconds

    async def refreshed(self) -> None:
        await self.credentials.cache.wait_for_refreshes()


@pytest.fixture
async def cached(tenancy) -> AsyncIterator[Cached]:
    made = Cached(tenancy.addr)
    yield made
    await made.channel.close()


def admin(tenant_id: str) -> tuple[tuple[str, str], ...]:
    return CallContext(tenant_id=tenant_id, actor_id=str(uuid.uuid4()), role="admin").metadata()


async def update(tenancy, tenant_id: str, channel_id: str, **fields: Any) -> None:
    request = tpb.UpdateChannelRequest(tenant_id=tenant_id, channel_id=channel_id, **fields)
    await tenancy.stub.UpdateChannel(request, metadata=admin(tenant_id))


async def zapi_channel(tenancy) -> tuple[str, str]:
    tenant_id = await tenancy.new_tenant()
    return tenant_id, (await tenancy.channel(tenant_id, "zapi")).id


class TestFreshAndStale:
    async def test_concurrent_sends_to_an_uncached_channel_share_one_call(self, tenancy, cached):
        tenant_id, channel_id = await zapi_channel(tenancy)
        found = await asyncio.gather(*(cached.credentials.get(tenant_id, channel_id) for _ in range(20)))
        assert {c.id for c in found} == {channel_id} and all(c.secrets == ZAPI_SECRETS for c in found)
        assert cached.calls == 1
        cached.at(TTL * 0.75 - 0.01)  # fresh whatever the jitter drew
        await cached.credentials.get(tenant_id, channel_id)
        assert cached.calls == 1

    async def test_a_stale_channel_is_used_at_once_while_one_call_fetches_the_rotated_secret(
        self, tenancy, cached
    ):
        tenant_id, channel_id = await zapi_channel(tenancy)
        await cached.credentials.get(tenant_id, channel_id)
        await update(tenancy, tenant_id, channel_id, secrets={"token": "rotated-token-789"})
        cached.at(TTL)  # stale whatever the jitter drew: jitter never lengthens the ttl
        found = await asyncio.gather(*(cached.credentials.get(tenant_id, channel_id) for _ in range(20)))
        assert all(c.secrets["token"] == "zapi-instance-token-123" for c in found)
        await cached.refreshed()
        assert cached.calls == 2  # the first fetch, then exactly one refresh
        rotated = await cached.credentials.get(tenant_id, channel_id)
        assert rotated.secrets == ZAPI_SECRETS | {"token": "rotated-token-789"}
        assert cached.calls == 2

    async def test_past_the_staleness_bound_a_disabled_channel_is_seen_by_that_very_send(
        self, tenancy, cached
    ):
        tenant_id, channel_id = await zapi_channel(tenancy)
        assert (await cached.credentials.get(tenant_id, channel_id)).active
        await update(tenancy, tenant_id, channel_id, active=False)
        cached.at(Credentials.STALE_FACTOR * TTL)  # idle all along: no refresh ran
        assert not (await cached.credentials.get(tenant_id, channel_id)).active
        assert cached.calls == 2

    async def test_forget_makes_the_next_send_fetch_again(self, tenancy, cached):
        tenant_id, channel_id = await zapi_channel(tenancy)
        await cached.credentials.get(tenant_id, channel_id)
        await update(tenancy, tenant_id, channel_id, secrets={"client_token": "new-client-token"})
        cached.credentials.forget(channel_id)
        found = await cached.credentials.get(tenant_id, channel_id)
        assert found.secrets["client_token"] == "new-client-token" and cached.calls == 2


class TestNotFound:
    async def test_another_tenants_channel_is_never_served_fresh_or_stale(self, tenancy, cached):
        tenant_id, channel_id = await zapi_channel(tenancy)
        other = await tenancy.new_tenant()
        with pytest.raises(ChannelNotFound):
            await cached.credentials.get(other, channel_id)  # fetched (with the other tenant's call)
        await cached.credentials.get(tenant_id, channel_id)  # the owner gets it: same cached entry
        with pytest.raises(ChannelNotFound):
            await cached.credentials.get(other, channel_id)  # fresh in the cache
        cached.at(TTL)
        with pytest.raises(ChannelNotFound):
            await cached.credentials.get(other, channel_id)  # stale, refreshing
        await cached.refreshed()
        assert cached.calls == 2

    async def test_an_unknown_channel_is_remembered_briefly_and_never_served_stale(self, tenancy, cached):
        tenant_id = await tenancy.new_tenant()
        unknown = str(uuid.uuid4())
        for _ in range(3):
            with pytest.raises(ChannelNotFound):
                await cached.credentials.get(tenant_id, unknown)
        assert cached.calls == 1
        cached.at(Credentials.NEGATIVE_TTL)
        with pytest.raises(ChannelNotFound):
            await cached.credentials.get(tenant_id, unknown)
        assert cached.calls == 2
        with pytest.raises(ChannelNotFound):
            await cached.credentials.get(tenant_id, "not-a-uuid")

    async def test_a_deleted_channel_is_not_found_once_the_refresh_lands(self, tenancy, cached):
        tenant_id, channel_id = await zapi_channel(tenancy)
        await cached.credentials.get(tenant_id, channel_id)
        await tenancy.stub.DeleteChannel(
            tpb.DeleteChannelRequest(tenant_id=tenant_id, channel_id=channel_id), metadata=admin(tenant_id)
        )
        cached.at(TTL)
        assert (await cached.credentials.get(tenant_id, channel_id)).id == channel_id  # stale, once
        await cached.refreshed()
        with pytest.raises(ChannelNotFound):
            await cached.credentials.get(tenant_id, channel_id)
        assert cached.calls == 2


class TestTenantServiceDown:
    async def test_an_uncached_channel_gets_the_error(self):
        clock = Clock()
        channel = grpc.aio.insecure_channel("127.0.0.1:1")
        try:
            credentials = Credentials(channel, TTL, deadline=2.0, clock=clock)
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await credentials.get(str(uuid.uuid4()), str(uuid.uuid4()))
            assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
        finally:
            await channel.close()

    async def test_a_stale_channel_is_used_until_the_bound_then_the_error_reaches_the_send(
        self, tenancy, migrated, database_url, caplog
    ):
        tenant_id, channel_id = await zapi_channel(tenancy)
        # A tenant server of this test's own, on the same database, to stop halfway.
        url = migrated("tenant", tenant.__file__)
        engine = db.create_engine(url, pool_size=2, max_overflow=0, application_name="test-notify-creds")
        server = build_tenant(settings_for_tests(TenantSettings, database_url), engine, port=0)
        await server.start()
        cached = Cached(f"127.0.0.1:{server.port}")
        try:
            await cached.credentials.get(tenant_id, channel_id)
            await server.stop(0)
            cached.at(TTL)
            with caplog.at_level(logging.WARNING, logger="kit.cache"):
                assert (await cached.credentials.get(tenant_id, channel_id)).id == channel_id
                await cached.refreshed()
            assert "notify credentials cache: background refresh failed" in caplog.text
            assert "zapi-instance-token" not in caplog.text and channel_id not in caplog.text
            cached.at(Credentials.STALE_FACTOR * TTL - 0.01)  # just inside the bound
            assert (await cached.credentials.get(tenant_id, channel_id)).id == channel_id
            await cached.refreshed()
            cached.at(Credentials.STALE_FACTOR * TTL)
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await cached.credentials.get(tenant_id, channel_id)
            assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
        finally:
            await cached.channel.close()
            await server.stop(0)
            await engine.dispose()
