"""The whole reply path in one process, for the top-level tests that follow a message end to end.

tenant, ai (the model path against a fake OpenAI over HTTP), notify (its sender against fake
providers over HTTP), conversation (wired to those ai and notify servers, its reply worker driven by
the test) and the real gateway app in front, all on one real Postgres. `conftest.servers` cannot do
this: its conversation server does not know where ai and notify listen.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

import ai
import conversation
import notify
import tenant
from ai.config import Settings as AiSettings
from ai.server import CallLog
from ai.server import build as build_ai
from conversation.config import Settings as ConversationSettings
from conversation.ports import AiPort, NotifyPort
from conversation.server import Peers, make_worker
from conversation.server import build as build_conversation
from conversation.worker import ReplyWorker
from gateway.app import create_app
from gateway.clients import Clients
from gateway.config import Settings as GatewaySettings
from kit import db, rpc
from kit.context import CallContext
from kit.dbadmin import asyncpg_dsn
from kit.fakes.openai import FakeOpenAI, text
from kit.fakes.providers import FakeProviders
from kit.ports import free_port
from kit.testing import settings_for_tests
from notify.config import Settings as NotifySettings
from notify.sender import Sender
from notify.server import build as build_notify
from notify.server import components
from tenant.config import Settings as TenantSettings
from tenant.seed import bootstrap
from tenant.server import build as build_tenant
from vellarys.ai.v1 import ai_pb2_grpc
from vellarys.notify.v1 import notify_pb2_grpc
from vellarys.tenant.v1 import tenant_pb2 as tpb

PAYLOADS = Path(__file__).resolve().parent.parent / "services/gateway/tests/unit/providers/payloads"
PASSWORD = "correct horse battery staple"
OK_REPLY = "Olá! O sobrado ainda está disponível. Qual seu orçamento?"
JSON = {"content-type": "application/json"}


@dataclass
class Stack:
    http: httpx.AsyncClient
    sql: asyncpg.Connection
    openai: FakeOpenAI
    providers: FakeProviders
    worker: ReplyWorker
    sender: Sender
    ai_calls: CallLog
    tenants: Any
    super_email: str
    super_password: str
    tokens: dict[str, str] = field(default_factory=dict)

    async def login(self, email: str, password: str = PASSWORD) -> dict[str, str]:
        if email not in self.tokens:
            r = await self.http.post("/api/v1/auth/login", json={"email": email, "password": password})
            assert r.status_code == 200, r.text
            self.tokens[email] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[email]}"}

    async def superadmin(self) -> dict[str, str]:
        return await self.login(self.super_email, self.super_password)

    async def user(self, tenant_id: str, role: str) -> dict[str, str]:
        email = f"u{uuid.uuid4().hex[:8]}@example.com"
        body = {"email": email, "name": "Ana", "role": role, "password": PASSWORD}
        r = await self.http.post(
            "/api/v1/users", params={"tenant_id": tenant_id}, json=body, headers=await self.superadmin()
        )
        assert r.status_code == 201, r.text
        return await self.login(email)

    async def new_tenant(self, secrets: dict[str, str] | None = None, **limits: int) -> tuple[str, str]:
        """(tenant id, the zapi channel's webhook path) of a new tenant with one Z-API channel."""
        root = CallContext(actor_id=str(uuid.uuid4()), role="superadmin").metadata()
        created = await self.tenants.CreateTenant(
            tpb.CreateTenantRequest(
                name="Imobiliária Diagnóstico",
                slug=f"d-{uuid.uuid4().hex[:10]}",
                niche_id=1,
                limits=tpb.PlanLimits(**limits),
            ),
            metadata=root,
        )
        tid = created.tenant.id
        admin = CallContext(tenant_id=tid, actor_id=str(uuid.uuid4()), role="admin").metadata()
        channel = await self.tenants.CreateChannel(
            tpb.CreateChannelRequest(
                tenant_id=tid,
                provider=tpb.PROVIDER_ZAPI,
                name="zapi",
                external_id=f"inst-{uuid.uuid4().hex[:12]}",
                secrets=secrets or {"token": "zapi-token-0001", "client_token": "zapi-client-0001"},
            ),
            metadata=admin,
        )
        return tid, channel.channel.webhook_path

    async def webhook(
        self, path: str, phone: str, body: str, message_id: str = "", *, from_me: bool = False
    ) -> httpx.Response:
        payload = (PAYLOADS / "zapi_text.json").read_text()
        if from_me:  # the business writing from its own phone
            payload = payload.replace('"fromMe": false', '"fromMe": true')
        payload = payload.replace("3EB0C767D71D9A0E3A1F01", message_id or uuid.uuid4().hex.upper())
        payload = payload.replace("5541991234567", phone)
        # Sent now: the 24-hour window is counted from the provider's timestamp.
        payload = payload.replace("1767016800000", str(int(time.time() * 1000)))
        payload = payload.replace("Oi, o sobrado do Água Verde ainda está à venda?", body)
        return await self.http.post(path, content=payload.encode(), headers=JSON)

    async def lead_id(self, tenant_id: str, phone: str) -> str:
        found = await self.sql.fetchval(
            "SELECT id FROM conversation.leads WHERE tenant_id = $1 AND phone LIKE '%' || $2",
            uuid.UUID(tenant_id),
            phone[-8:],
        )
        assert found is not None, "lead not stored"
        return str(found)

    async def drain(self) -> int:
        """Run every due reply job, then send every due delivery; the ai's call log is written by then
        (it writes its rows a moment after each reply, off the reply's path)."""
        runs = 0
        while await self.worker.run_once():
            runs += 1
        await self.sender.process_due()
        await self.ai_calls.drain()
        return runs


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.05)


@asynccontextmanager
async def full_stack(
    migrated: Callable[[str, str], str], database_url: str, **notify_options: Any
) -> AsyncIterator[Stack]:
    email = f"root-{uuid.uuid4().hex[:6]}@vellarys.local"
    engines = {
        name: db.create_engine(
            migrated(name, pkg.__file__), pool_size=5, max_overflow=5, application_name=name
        )
        for name, pkg in (("tenant", tenant), ("ai", ai), ("notify", notify), ("conversation", conversation))
    }
    openai, providers = FakeOpenAI(default=text(OK_REPLY)).start(), FakeProviders().start()
    tenant_settings = settings_for_tests(
        TenantSettings, database_url, tenants_hard_limit=100_000, superadmin_email=email,
        superadmin_tenant_slug=f"platform-{uuid.uuid4().hex[:6]}",
    )  # fmt: skip
    async with db.session_factory(engines["tenant"]).begin() as session:
        _, password = await bootstrap(session, tenant_settings)
    tenant_server = build_tenant(tenant_settings, engines["tenant"], port=0)
    tenant_addr = f"127.0.0.1:{tenant_server.port}"
    ai_calls = CallLog(engines["ai"])
    ai_server = build_ai(
        settings_for_tests(
            AiSettings, database_url, openai_api_key="sk-test-not-real", openai_base_url=openai.base_url,
            ai_timeout_seconds=3, ai_breaker_failures=1000, tenant_addr=tenant_addr,
        ),
        engines["ai"], port=0, calls=ai_calls,
    )  # fmt: skip
    conversation_port = free_port()
    notify_settings = settings_for_tests(
        NotifySettings, database_url, tenant_addr=tenant_addr,
        conversation_addr=f"127.0.0.1:{conversation_port}", zapi_base_url=providers.zapi_base_url,
        **{"backoff_base_seconds": 0.01, "backoff_cap_seconds": 0.05, "credentials_cache_seconds": 0.0,
           **notify_options},
    )  # fmt: skip
    parts = components(notify_settings, engines["notify"])
    notify_server = build_notify(notify_settings, engines["notify"], port=0, sender=parts.sender)
    channels = {
        "tenant": rpc.make_channel(tenant_addr, deadline=30),
        "ai": rpc.make_channel(f"127.0.0.1:{ai_server.port}", deadline=30),
        "notify": rpc.make_channel(f"127.0.0.1:{notify_server.port}", deadline=30),
        "conversation": rpc.make_channel(f"127.0.0.1:{conversation_port}", deadline=30),
    }
    # No tenant stub: the debounce is the settings' 0 s, so a test never waits for a window.
    peers = Peers(
        AiPort(ai_pb2_grpc.AiServiceStub(channels["ai"]), 20),
        NotifyPort(notify_pb2_grpc.NotifyServiceStub(channels["notify"]), 5),
        None,
    )
    conv_settings = settings_for_tests(
        ConversationSettings, database_url, reply_debounce_seconds=0, reply_retry_first_seconds=60
    )
    conv_server = build_conversation(
        conv_settings, engines["conversation"], port=conversation_port, peers=peers
    )
    servers = [tenant_server, ai_server, notify_server, conv_server]
    for server in servers:
        await server.start()
    worker = make_worker(conv_settings, engines["conversation"], peers, "test-worker")
    app = create_app(settings_for_tests(GatewaySettings, database_url), clients=Clients(channels))
    sql = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
                yield Stack(
                    http, sql, openai, providers, worker, parts.sender, ai_calls,
                    tenant_pb_stub(channels["tenant"]), email, password,
                )  # fmt: skip
    finally:
        await sql.close()
        await worker.stop()
        await parts.close()
        for channel in channels.values():
            await channel.close()
        for server in servers:
            await server.stop(0)
        for engine in engines.values():
            await engine.dispose()
        openai.stop()
        providers.stop()


def tenant_pb_stub(channel: Any) -> Any:
    from vellarys.tenant.v1 import tenant_pb2_grpc

    return tenant_pb2_grpc.TenantServiceStub(channel)
