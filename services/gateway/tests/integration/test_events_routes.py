"""GET /api/v1/events over a real HTTP server (uvicorn on 127.0.0.1: httpx's ASGI transport buffers
whole responses, a stream needs the real thing), a real conversation gRPC server and Postgres; and the
admin-only POST /api/v1/leads/{id}/assign guard. Tokens as in test_leads_routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from fastapi import FastAPI

import conversation
from conversation.config import Settings as ConversationSettings
from conversation.server import build
from gateway import errors, httpserver
from gateway.auth import Principal, PrincipalCache, Tokens
from gateway.clients import Clients
from gateway.config import Settings
from gateway.middleware import GatewayMiddleware
from gateway.routes import events, leads
from kit import db, rpc
from kit.dbadmin import asyncpg_dsn
from kit.testing import settings_for_tests
from vellarys.conversation.v1 import conversation_pb2 as pb
from vellarys.tenant.v1 import tenant_pb2 as tpb

ROLES = {"admin": tpb.ROLE_ADMIN, "seller": tpb.ROLE_SELLER, "viewer": tpb.ROLE_VIEWER}


@pytest.fixture(scope="module")
async def env(migrated, database_url) -> AsyncIterator[dict[str, Any]]:
    url = migrated("conversation", conversation.__file__)
    engine = db.create_engine(url, pool_size=5, max_overflow=5, application_name="test-events-routes")
    server = build(settings_for_tests(ConversationSettings, database_url), engine, port=0)
    await server.start()
    channel = rpc.make_channel(f"127.0.0.1:{server.port}", deadline=30)
    settings = settings_for_tests(Settings, database_url)
    app = FastAPI()
    app.state.clients = Clients({"conversation": channel})
    app.state.tokens = Tokens(settings)
    app.state.principals = PrincipalCache(ttl=3600)
    app.state.events_heartbeat_seconds = 0.3
    errors.install(app)
    app.include_router(events.router)
    app.include_router(leads.router)
    app.add_middleware(GatewayMiddleware)
    # The gateway's own server settings: the stream goes through its coalescing transport.
    web = uvicorn.Server(
        httpserver.config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(web.serve())
    while not web.started:
        await asyncio.sleep(0.02)
    port = web.servers[0].sockets[0].getsockname()[1]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        yield {"app": app, "http": http, "stub": app.state.clients.conversation, "database_url": database_url}
    web.should_exit = True
    await task
    await channel.close()
    await server.stop(0)
    await engine.dispose()


@pytest.fixture
async def sql(database_url) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    yield conn
    await conn.close()


def login(env: dict, role: str, tenant_id: str, user_id: str | None = None) -> dict[str, str]:
    user = tpb.User(id=user_id or str(uuid.uuid4()), tenant_id=tenant_id, role=ROLES[role], token_version=1)
    env["app"].state.principals.put((user.id, 1), Principal(user.id, tenant_id, role, f"{role}@x.com", 1))
    return {"Authorization": f"Bearer {env['app'].state.tokens.mint(user)}"}


async def ingest(env: dict, tenant_id: str) -> str:
    message = pb.InboundMessage(
        provider="meta", external_id=uuid.uuid4().hex, sender="+5541" + str(uuid.uuid4().int)[:9], text="Oi"
    )
    return (
        await env["stub"].IngestInbound(pb.IngestInboundRequest(tenant_id=tenant_id, message=message))
    ).lead_id


class Reader:
    """Reads an SSE response line by line in the background."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines: list[str] = []
        self.task = asyncio.create_task(self._read(response))

    async def _read(self, response: httpx.Response) -> None:
        async for line in response.aiter_lines():
            self.lines.append(line)

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line[6:]) for line in self.lines if line.startswith("data: ")]

    async def until(self, predicate: Any, timeout: float = 5.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate(self):
            assert asyncio.get_running_loop().time() < deadline, self.lines
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def watching(env: dict, headers: dict[str, str]) -> AsyncIterator[Reader]:
    async with env["http"].stream("GET", "/api/v1/events", headers=headers) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith(
            "text/event-stream"
        )
        reader = Reader(response)
        await reader.until(lambda r: ": connected" in r.lines)
        try:
            yield reader
        finally:
            reader.task.cancel()


async def listeners(database_url: str) -> int:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        return int(await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'"
        ))  # fmt: skip
    finally:
        await conn.close()


class TestEvents:
    async def test_only_the_callers_tenant_and_heartbeats(self, env):
        t, other = str(uuid.uuid4()), str(uuid.uuid4())
        async with (
            watching(env, login(env, "seller", t)) as seller,
            watching(env, login(env, "viewer", other)) as outsider,
        ):
            lead = await ingest(env, t)
            await seller.until(lambda r: any(e["lead_id"] == lead for e in r.events()))
            await seller.until(lambda r: ": heartbeat" in r.lines)
            assert {e["type"] for e in seller.events() if e["lead_id"] == lead} >= {
                "lead.created",
                "message.received",
            }
            assert "event: lead.created" in seller.lines
            assert all(e["tenant_id"] == t for e in seller.events())
            await outsider.until(lambda r: ": heartbeat" in r.lines)
            assert outsider.events() == []

    async def test_a_seller_does_not_see_leads_of_another_seller(self, env, sql):
        t, me, someone = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
        theirs = await ingest(env, t)
        await sql.execute(
            "UPDATE conversation.leads SET assigned_user_id = $1 WHERE id = $2",
            uuid.UUID(someone),
            uuid.UUID(theirs),
        )
        async with (
            watching(env, login(env, "seller", t, me)) as seller,
            watching(env, login(env, "admin", t)) as admin,
        ):
            await ingest_again(env, t, theirs)
            mine = await ingest(env, t)
            await admin.until(lambda r: {theirs, mine} <= {e["lead_id"] for e in r.events()})
            await seller.until(lambda r: mine in {e["lead_id"] for e in r.events()})
            assert theirs not in {e["lead_id"] for e in seller.events()}

    async def test_anonymous_is_refused_and_disconnect_releases_the_listener(self, env):
        assert (await env["http"].get("/api/v1/events")).status_code == 401
        t = str(uuid.uuid4())
        async with watching(env, login(env, "admin", t)):
            assert await listeners(env["database_url"]) >= 1
        for _ in range(100):
            if await listeners(env["database_url"]) == 0:
                break
            await asyncio.sleep(0.05)
        assert await listeners(env["database_url"]) == 0


async def ingest_again(env: dict, tenant_id: str, lead_id: str) -> None:
    phone = await _phone(env, tenant_id, lead_id)
    message = pb.InboundMessage(provider="meta", external_id=uuid.uuid4().hex, sender=phone, text="De novo")
    await env["stub"].IngestInbound(pb.IngestInboundRequest(tenant_id=tenant_id, message=message))


async def _phone(env: dict, tenant_id: str, lead_id: str) -> str:
    return (await env["stub"].GetLead(pb.GetLeadRequest(tenant_id=tenant_id, lead_id=lead_id))).lead.phone


class TestAssignRoute:
    async def test_only_admins_assign(self, env):
        t = str(uuid.uuid4())
        lead = await ingest(env, t)
        body = {"user_id": str(uuid.uuid4())}
        refused = await env["http"].post(
            f"/api/v1/leads/{lead}/assign", json=body, headers=login(env, "seller", t)
        )
        assert refused.status_code == 403
        bad = await env["http"].post(
            f"/api/v1/leads/{lead}/assign", json={"user_id": "x"}, headers=login(env, "admin", t)
        )
        assert bad.status_code == 422 or bad.status_code == 400
