"""The leads REST routes through the real auth dependency, a real conversation gRPC server and Postgres.

Tokens are real JWTs from gateway.auth.Tokens; the principal each one stands for is put in the real
PrincipalCache (what a GetPrincipal answer would have put there), so no tenant service is needed.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI, Request, Response

import conversation
from conversation.config import Settings as ConversationSettings
from conversation.server import build
from gateway import errors
from gateway.auth import Principal, PrincipalCache, Tokens
from gateway.clients import Clients
from gateway.config import Settings
from gateway.routes import leads
from kit import db, rpc
from kit.testing import settings_for_tests
from vellarys.conversation.v1 import conversation_pb2 as pb
from vellarys.tenant.v1 import tenant_pb2 as tpb

ROLES = {
    "superadmin": tpb.ROLE_SUPERADMIN,
    "admin": tpb.ROLE_ADMIN,
    "seller": tpb.ROLE_SELLER,
    "viewer": tpb.ROLE_VIEWER,
}


def make_app(settings: Settings, clients: Clients) -> FastAPI:
    app = FastAPI()
    app.state.clients = clients
    app.state.tokens = Tokens(settings)
    app.state.principals = PrincipalCache(ttl=3600)
    errors.install(app)

    @app.middleware("http")
    async def request_id(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request.state.request_id = uuid.uuid4().hex
        return await call_next(request)

    app.include_router(leads.router)
    return app


@pytest.fixture(scope="module")
async def env(migrated, database_url) -> AsyncIterator[dict]:
    url = migrated("conversation", conversation.__file__)
    engine = db.create_engine(url, pool_size=5, max_overflow=5, application_name="test-leads-routes")
    server = build(settings_for_tests(ConversationSettings, database_url), engine, port=0)
    await server.start()
    channel = rpc.make_channel(f"127.0.0.1:{server.port}", deadline=30)
    app = make_app(settings_for_tests(Settings, database_url), Clients({"conversation": channel}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield {"app": app, "http": http, "stub": Clients({"conversation": channel}).conversation}
    await channel.close()
    await server.stop(0)
    await engine.dispose()


def login(env: dict, role: str, tenant_id: str, user_id: str | None = None) -> dict[str, str]:
    user = tpb.User(id=user_id or str(uuid.uuid4()), tenant_id=tenant_id, role=ROLES[role], token_version=1)
    env["app"].state.principals.put((user.id, 1), Principal(user.id, tenant_id, role, f"{role}@x.com", 1))
    return {"Authorization": f"Bearer {env['app'].state.tokens.mint(user)}"}


async def seed(env: dict, tenant_id: str, n: int) -> list[str]:
    ids = []
    for i in range(n):
        message = pb.InboundMessage(
            provider="meta",
            external_id=uuid.uuid4().hex,
            sender=f"+55419888{i:05d}",
            sender_name=f"Lead {i}",
            text="Oi",
        )
        reply = await env["stub"].IngestInbound(pb.IngestInboundRequest(tenant_id=tenant_id, message=message))
        ids.append(reply.lead_id)
    return ids


class TestListLeads:
    async def test_pages_with_full_phone_numbers(self, env):
        t = str(uuid.uuid4())
        ids = await seed(env, t, 5)
        headers, seen, cursor = login(env, "admin", t), [], None
        while True:
            params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            response = await env["http"].get("/api/v1/leads", params=params, headers=headers)
            assert response.status_code == 200, response.text
            body = response.json()
            seen.extend(body["items"])
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert sorted(item["id"] for item in seen) == sorted(ids)
        assert seen[-1]["phone"].startswith("+55419888") and seen[0]["assigned_user_id"] is None

    async def test_filters_reach_the_service(self, env):
        t = str(uuid.uuid4())
        ids = await seed(env, t, 3)
        headers = login(env, "admin", t)
        await env["http"].patch(f"/api/v1/leads/{ids[1]}", json={"status": "won"}, headers=headers)
        won = await env["http"].get("/api/v1/leads", params={"status": "won"}, headers=headers)
        assert [item["id"] for item in won.json()["items"]] == [ids[1]]
        found = await env["http"].get("/api/v1/leads", params={"q": "lead 2"}, headers=headers)
        assert [item["id"] for item in found.json()["items"]] == [ids[2]]

    @pytest.mark.parametrize("params", [{"limit": 101}, {"status": "hot"}, {"cursor": "nope"}])
    async def test_bad_query_is_4xx(self, env, params):
        t = str(uuid.uuid4())
        response = await env["http"].get("/api/v1/leads", params=params, headers=login(env, "admin", t))
        assert response.status_code in (400, 422) and response.json()["error"]["code"]

    async def test_without_token_is_401(self, env):
        assert (await env["http"].get("/api/v1/leads")).status_code == 401


class TestRoles:
    async def test_viewer_reads_but_cannot_patch(self, env):
        t = str(uuid.uuid4())
        [lead_id] = await seed(env, t, 1)
        viewer = login(env, "viewer", t)
        assert (await env["http"].get(f"/api/v1/leads/{lead_id}", headers=viewer)).status_code == 200
        response = await env["http"].patch(f"/api/v1/leads/{lead_id}", json={"status": "won"}, headers=viewer)
        assert response.status_code == 403

    async def test_seller_sees_own_and_unassigned(self, env, sql):
        t, seller = str(uuid.uuid4()), str(uuid.uuid4())
        ids = await seed(env, t, 3)
        await sql.execute(
            "UPDATE conversation.leads SET assigned_user_id = $2 WHERE id = $1",
            uuid.UUID(ids[0]),
            uuid.uuid4(),
        )
        headers = login(env, "seller", t, seller)
        listed = (await env["http"].get("/api/v1/leads", headers=headers)).json()["items"]
        assert {item["id"] for item in listed} == {ids[1], ids[2]}
        assert (await env["http"].get(f"/api/v1/leads/{ids[0]}", headers=headers)).status_code == 404
        patched = await env["http"].patch(
            f"/api/v1/leads/{ids[1]}", json={"notes": "ligar amanhã"}, headers=headers
        )
        assert patched.status_code == 200 and patched.json()["notes"] == "ligar amanhã"

    async def test_other_tenant_is_404_and_superadmin_may_choose(self, env):
        t = str(uuid.uuid4())
        [lead_id] = await seed(env, t, 1)
        intruder = login(env, "admin", str(uuid.uuid4()))
        assert (await env["http"].get(f"/api/v1/leads/{lead_id}", headers=intruder)).status_code == 404
        spoof = await env["http"].get(f"/api/v1/leads/{lead_id}", params={"tenant_id": t}, headers=intruder)
        assert spoof.status_code == 404
        root = login(env, "superadmin", str(uuid.uuid4()))
        chosen = await env["http"].get(f"/api/v1/leads/{lead_id}", params={"tenant_id": t}, headers=root)
        assert chosen.status_code == 200 and chosen.json()["tenant_id"] == t


class TestLeadDetail:
    async def test_messages_and_patch_validation(self, env):
        t = str(uuid.uuid4())
        [lead_id] = await seed(env, t, 1)
        headers = login(env, "admin", t)
        messages = await env["http"].get(f"/api/v1/leads/{lead_id}/messages", headers=headers)
        assert messages.status_code == 200
        [item] = messages.json()["items"]
        assert (item["direction"], item["kind"], item["text"]) == ("inbound", "text", "Oi")
        bad = await env["http"].patch(f"/api/v1/leads/{lead_id}", json={"status": "hot"}, headers=headers)
        assert bad.status_code == 422
        extra = await env["http"].patch(f"/api/v1/leads/{lead_id}", json={"phone": "+1"}, headers=headers)
        assert extra.status_code == 422
        missing = await env["http"].get(f"/api/v1/leads/{uuid.uuid4()}", headers=headers)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


class TestOwnershipRoutes:
    async def test_takeover_seller_reply_timeline_and_return_to_ai(self, env):
        t = str(uuid.uuid4())
        [lead_id] = await seed(env, t, 1)
        user = str(uuid.uuid4())
        seller = login(env, "seller", t, user)
        base = f"/api/v1/leads/{lead_id}"
        taken = await env["http"].post(f"{base}/takeover", headers=seller)
        assert taken.status_code == 200
        assert (taken.json()["owner"], taken.json()["owner_user_id"]) == ("human", user)
        sent = await env["http"].post(f"{base}/messages", json={"text": "Oi, sou a Carla"}, headers=seller)
        assert sent.status_code == 201
        assert (sent.json()["message"]["direction"], sent.json()["message"]["text"]) == (
            "outbound_human",
            "Oi, sou a Carla",
        )
        empty = await env["http"].post(f"{base}/messages", json={"text": ""}, headers=seller)
        assert empty.status_code == 422
        back = await env["http"].post(f"{base}/return-to-ai", headers=seller)
        assert back.status_code == 200 and back.json()["owner"] == "ai"
        timeline = await env["http"].get(f"{base}/timeline", headers=login(env, "viewer", t))
        assert timeline.status_code == 200
        assert [(e["reason"], e["owner"]) for e in timeline.json()["items"]] == [
            ("takeover", "human"),
            ("return_to_ai", "ai"),
        ]

    async def test_viewers_cannot_write_and_opted_out_leads_are_refused(self, env, sql):
        t = str(uuid.uuid4())
        [lead_id] = await seed(env, t, 1)
        base = f"/api/v1/leads/{lead_id}"
        viewer = login(env, "viewer", t)
        assert (await env["http"].post(f"{base}/takeover", headers=viewer)).status_code == 403
        assert (
            await env["http"].post(f"{base}/messages", json={"text": "x"}, headers=viewer)
        ).status_code == 403
        await sql.execute("UPDATE conversation.leads SET opted_out = true WHERE id = $1", uuid.UUID(lead_id))
        refused = await env["http"].post(
            f"{base}/messages", json={"text": "Oi"}, headers=login(env, "admin", t)
        )
        assert refused.status_code == 400 and "opted out" in refused.json()["error"]["message"]


@pytest.fixture
async def sql(database_url):
    import asyncpg

    from kit.dbadmin import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    yield conn
    await conn.close()
