"""A real tenant server (channel credentials), the fake providers on 127.0.0.1, and notify stacks
built with per-test settings (tiny backoffs, short timeouts)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

import notify
import tenant
from kit import db, rpc
from kit.context import CallContext
from kit.dbadmin import asyncpg_dsn
from kit.fakes.providers import FakeProviders
from kit.testing import settings_for_tests
from notify.config import Settings
from notify.sender import Sender
from notify.server import build, components
from tenant.config import Settings as TenantSettings
from tenant.server import build as build_tenant
from vellarys.notify.v1 import notify_pb2_grpc as pb_grpc
from vellarys.tenant.v1 import tenant_pb2 as tpb
from vellarys.tenant.v1 import tenant_pb2_grpc as tpb_grpc

SUPER = CallContext(tenant_id=str(uuid.uuid4()), actor_id=str(uuid.uuid4()), role="superadmin").metadata()
PROVIDER_PB = {
    "zapi": (
        tpb.PROVIDER_ZAPI,
        {"token": "zapi-instance-token-123", "client_token": "zapi-client-token-456"},
    ),
    "dialog360": (tpb.PROVIDER_DIALOG360, {"api_key": "d360-key-abc"}),
    "gupshup": (tpb.PROVIDER_GUPSHUP, {"api_key": "gupshup-key-xyz"}),
    "meta": (tpb.PROVIDER_META, {"access_token": "meta-access-token-999", "app_secret": "meta-app-secret"}),
}


@dataclass
class Tenancy:
    stub: tpb_grpc.TenantServiceStub
    addr: str

    async def new_tenant(self) -> str:
        request = tpb.CreateTenantRequest(name="Imob", slug=f"n-{uuid.uuid4().hex[:10]}", niche_id=1)
        return (await self.stub.CreateTenant(request, metadata=SUPER)).tenant.id

    async def channel(self, tenant_id: str, provider: str) -> tpb.ChannelConfig:
        code, secrets = PROVIDER_PB[provider]
        request = tpb.CreateChannelRequest(
            provider=code, name=provider, external_id=f"ext-{uuid.uuid4().hex[:8]}",
            phone_number="+5541987001200", secrets=secrets,
        )  # fmt: skip
        admin = CallContext(tenant_id=tenant_id, actor_id=str(uuid.uuid4()), role="admin").metadata()
        return (await self.stub.CreateChannel(request, metadata=admin)).channel


@pytest.fixture(scope="module")
async def tenancy(migrated, database_url) -> AsyncIterator[Tenancy]:
    url = migrated("tenant", tenant.__file__)
    settings = settings_for_tests(TenantSettings, database_url, tenants_hard_limit=1000)
    engine = db.create_engine(url, pool_size=3, max_overflow=3, application_name="test-notify-tenant")
    server = build_tenant(settings, engine, port=0)
    await server.start()
    channel = rpc.make_channel(f"127.0.0.1:{server.port}", deadline=30)
    yield Tenancy(tpb_grpc.TenantServiceStub(channel), f"127.0.0.1:{server.port}")
    await channel.close()
    await server.stop(0)
    await engine.dispose()


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviders]:
    with FakeProviders() as server:
        yield server


@pytest.fixture
async def sql(database_url) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    yield conn
    await conn.close()


@dataclass
class Stack:
    stub: pb_grpc.NotifyServiceStub
    sender: Sender
    settings: Settings
    make_sender: Callable[[], Sender]


QUICK = {
    "backoff_base_seconds": 0.01, "backoff_cap_seconds": 0.05, "sender_poll_seconds": 0.05,
    "http_total_timeout": 2.0, "credentials_cache_seconds": 0.0,
    "conversation_addr": "127.0.0.1:1",
}  # fmt: skip


@pytest.fixture
def notify_stack(migrated, database_url, tenancy, fake) -> Callable[..., Any]:
    @asynccontextmanager
    async def stack(*, run_worker: bool = False, **values: Any) -> AsyncIterator[Stack]:
        url = migrated("notify", notify.__file__)
        urls = {
            "zapi_base_url": fake.zapi_base_url, "dialog360_base_url": fake.dialog360_base_url,
            "gupshup_base_url": fake.gupshup_base_url, "meta_graph_base_url": fake.meta_base_url,
        }  # fmt: skip
        options = {**urls, **QUICK, **values}  # a test may point a provider elsewhere
        settings = settings_for_tests(Settings, database_url, tenant_addr=tenancy.addr, **options)
        engine = db.create_engine(url, pool_size=8, max_overflow=8, application_name="test-notify")
        parts = [components(settings, engine)]
        server = build(settings, engine, port=0, sender=parts[0].sender, pusher=parts[0].pusher)
        await server.start()
        if run_worker:
            parts[0].sender.start()

        def another_sender() -> Sender:
            parts.append(components(settings, engine))
            return parts[-1].sender

        channel = rpc.make_channel(f"127.0.0.1:{server.port}", deadline=30)
        try:
            yield Stack(pb_grpc.NotifyServiceStub(channel), parts[0].sender, settings, another_sender)
        finally:
            await channel.close()
            await server.stop(0)
            for part in parts:
                await part.close()
            await engine.dispose()

    return stack


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.05)
