"""Usage REST through the gateway, with the real tenant and ai gRPC servers in-process."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, timedelta

import asyncpg
import httpx
import pytest

import ai
import tenant
from ai.config import Settings as AiSettings
from ai.server import build as build_ai
from gateway.app import create_app
from gateway.clients import Clients
from gateway.config import Settings as GatewaySettings
from gateway.routes import simulator, usage
from kit import db, rpc
from kit.config import SERVICES
from kit.dbadmin import asyncpg_dsn
from kit.testing import settings_for_tests
from tenant.config import Settings as TenantSettings
from tenant.seed import bootstrap
from tenant.server import build as build_tenant

PASSWORD = "correct horse battery"


@dataclass
class Stack:
    http: httpx.AsyncClient
    sql: asyncpg.Connection
    super_email: str
    super_password: str
    tokens: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
async def stack(migrated, database_url) -> AsyncIterator[Stack]:
    email = f"root-{uuid.uuid4().hex[:6]}@vellarys.local"
    tenant_settings = settings_for_tests(
        TenantSettings, database_url, tenants_hard_limit=1000, superadmin_email=email,
        superadmin_tenant_slug=f"platform-{uuid.uuid4().hex[:6]}",
    )  # fmt: skip
    tenant_engine = db.create_engine(migrated("tenant", tenant.__file__), pool_size=4, max_overflow=4,
                                     application_name="t")  # fmt: skip
    ai_engine = db.create_engine(
        migrated("ai", ai.__file__), pool_size=4, max_overflow=4, application_name="t"
    )
    async with db.session_factory(tenant_engine).begin() as session:
        _, password = await bootstrap(session, tenant_settings)
    servers = [
        build_tenant(tenant_settings, tenant_engine, port=0),
        build_ai(settings_for_tests(AiSettings, database_url), ai_engine, port=0),
    ]
    for server in servers:
        await server.start()
    channels = {name: rpc.make_channel("127.0.0.1:1") for name in SERVICES}
    channels["tenant"] = rpc.make_channel(f"127.0.0.1:{servers[0].port}", deadline=60)
    channels["ai"] = rpc.make_channel(f"127.0.0.1:{servers[1].port}", deadline=60)
    app = create_app(settings_for_tests(GatewaySettings, database_url), clients=Clients(channels))
    for router in (simulator.router, usage.router):  # until app.py includes them
        if not any(getattr(r, "path", "").startswith(router.prefix) for r in app.routes):
            app.include_router(router)
    sql = await asyncpg.connect(asyncpg_dsn(database_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield Stack(http, sql, email, password)
    await sql.close()
    for channel in channels.values():
        await channel.close()
    for server in servers:
        await server.stop(0)
    await ai_engine.dispose()
    await tenant_engine.dispose()


async def login(s: Stack, email: str, password: str = PASSWORD) -> dict[str, str]:
    if email not in s.tokens:
        r = await s.http.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        s.tokens[email] = r.json()["access_token"]
    return {"Authorization": f"Bearer {s.tokens[email]}"}


async def superadmin(s: Stack) -> dict[str, str]:
    return await login(s, s.super_email, s.super_password)


async def new_tenant(s: Stack) -> str:
    body = {"name": "Imob", "slug": f"t-{uuid.uuid4().hex[:10]}", "niche_id": 1}
    r = await s.http.post("/api/v1/admin/tenants", json=body, headers=await superadmin(s))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def user_headers(s: Stack, tenant_id: str, role: str) -> dict[str, str]:
    email = f"u{uuid.uuid4().hex[:8]}@example.com"
    body = {"email": email, "name": "Ana", "role": role, "password": PASSWORD}
    r = await s.http.post(
        "/api/v1/users", params={"tenant_id": tenant_id}, json=body, headers=await superadmin(s)
    )
    assert r.status_code == 201, r.text
    return await login(s, email)


async def today(s: Stack) -> date:
    day: date = await s.sql.fetchval("SELECT (now() AT TIME ZONE 'America/Sao_Paulo')::date")
    return day


class TestUsage:
    async def test_days_totals_and_simulated_calls(self, stack):
        tenant_id = await new_tenant(stack)
        admin = await user_headers(stack, tenant_id, "admin")
        for _ in range(2):
            r = await stack.http.post(
                "/api/v1/simulator/messages",
                json={"messages": [{"role": "lead", "text": "oi"}]},
                headers=admin,
            )
            assert r.status_code == 200, r.text
        await stack.sql.execute(
            "INSERT INTO ai.calls (id, tenant_id, lead_id, model, prompt_tokens, completion_tokens, latency_ms,"
            " outcome, cost_usd, created_at) VALUES ($1, $2, $3, 'gpt-4o', 1000, 100, 900, 'ok', 0.0035, now()),"
            " ($4, $2, $3, 'gpt-4o', 500, 50, 800, 'fallback', 0.002, now() - interval '3 days')",
            uuid.uuid4(), uuid.UUID(tenant_id), uuid.uuid4(), uuid.uuid4(),
        )  # fmt: skip
        day = await today(stack)
        params = {"from": (day - timedelta(days=7)).isoformat(), "to": day.isoformat()}
        r = await stack.http.get("/api/v1/usage", params=params, headers=admin)
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["from"], body["to"]) == (params["from"], params["to"])
        assert [d["day"] for d in body["days"]] == [(day - timedelta(days=3)).isoformat(), day.isoformat()]
        last = body["days"][-1]
        assert (last["calls"], last["simulated_calls"], last["prompt_tokens"]) == (3, 2, 1000)
        assert last["outcomes"] == {"offline": 2, "ok": 1} and last["cost_usd"] == pytest.approx(0.0035)
        assert (body["calls"], body["prompt_tokens"], body["simulated_calls"]) == (4, 1500, 2)
        assert body["cost_usd"] == pytest.approx(0.0055)
        r = await stack.http.get(
            "/api/v1/usage", params={**params, "tenant_id": tenant_id}, headers=await superadmin(stack)
        )
        assert r.status_code == 200 and r.json()["calls"] == 4
        r = await stack.http.get("/api/v1/usage", params=params, headers=await superadmin(stack))
        assert r.status_code == 200 and r.json()["calls"] == 0

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"from": "2026-02-01", "to": "2026-01-31"}, "to"),
            ({"from": "2025-01-01", "to": "2026-01-02"}, "to"),
            ({"from": "ontem", "to": "2026-01-02"}, "from"),
            ({"to": "2026-01-02"}, "from"),
            ({"from": "2026-01-01", "to": "2026-13-01"}, "to"),
        ],
    )
    async def test_range_validation(self, stack, params, field):
        admin = await user_headers(stack, await new_tenant(stack), "admin")
        r = await stack.http.get("/api/v1/usage", params=params, headers=admin)
        assert r.status_code == 422, r.text
        assert [d["field"] for d in r.json()["error"]["details"]] == [field]

    async def test_a_full_year_is_allowed(self, stack):
        admin = await user_headers(stack, await new_tenant(stack), "admin")
        r = await stack.http.get(
            "/api/v1/usage", params={"from": "2024-01-01", "to": "2024-12-31"}, headers=admin
        )
        assert r.status_code == 200 and r.json()["days"] == []

    async def test_roles_and_isolation(self, stack):
        tenant_id, other_id = await new_tenant(stack), await new_tenant(stack)
        params = {"from": "2026-01-01", "to": "2026-01-31"}
        for role in ("seller", "viewer"):
            headers = await user_headers(stack, tenant_id, role)
            assert (await stack.http.get("/api/v1/usage", params=params, headers=headers)).status_code == 403
        assert (await stack.http.get("/api/v1/usage", params=params)).status_code == 401
        admin = await user_headers(stack, tenant_id, "admin")
        r = await stack.http.get("/api/v1/usage", params={**params, "tenant_id": other_id}, headers=admin)
        assert r.status_code == 404
