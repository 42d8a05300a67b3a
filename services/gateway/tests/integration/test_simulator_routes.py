"""Simulator REST through the gateway, with the real tenant and ai gRPC servers in-process.

The conversation service is not running at all (its channel points nowhere): the simulator must not
need it, and must not create leads or conversations. The ai server answers offline (no key), and a
second one talks to the fake OpenAI server to check that tool calls are reported.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest

import ai
import tenant
from ai.config import Settings as AiSettings
from ai.server import build as build_ai
from ai.tenant_port import GrpcTenantPort
from gateway.app import create_app
from gateway.clients import Clients
from gateway.config import Settings as GatewaySettings
from gateway.routes import simulator, usage
from kit import db, rpc
from kit.config import SERVICES
from kit.dbadmin import asyncpg_dsn
from kit.fakes.openai import FakeOpenAI, text, tool_calls
from kit.testing import settings_for_tests
from tenant.config import Settings as TenantSettings
from tenant.seed import bootstrap
from tenant.server import build as build_tenant
from vellarys.tenant.v1 import tenant_pb2_grpc as tpb_grpc

PASSWORD = "correct horse battery"
QUALIFIED = "Oi, quero comprar um apartamento de 3 quartos até 800 mil"


@dataclass
class Stack:
    http: httpx.AsyncClient
    model_http: httpx.AsyncClient
    fake: FakeOpenAI
    sql: asyncpg.Connection
    super_email: str
    super_password: str
    tokens: dict[str, str] = field(default_factory=dict)


@asynccontextmanager
async def gateway(
    settings: GatewaySettings, tenant_port: int, ai_port: int
) -> AsyncIterator[httpx.AsyncClient]:
    channels = {name: rpc.make_channel("127.0.0.1:1") for name in SERVICES}
    channels["tenant"] = rpc.make_channel(f"127.0.0.1:{tenant_port}", deadline=60)
    channels["ai"] = rpc.make_channel(f"127.0.0.1:{ai_port}", deadline=60)
    app = create_app(settings, clients=Clients(channels))
    # Until app.py includes them.
    if not any(getattr(r, "path", "").startswith("/api/v1/simulator") for r in app.routes):
        app.include_router(simulator.router)
    if not any(getattr(r, "path", "").startswith("/api/v1/usage") for r in app.routes):
        app.include_router(usage.router)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield http
    for channel in channels.values():
        await channel.close()


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="module")
async def stack(migrated, database_url, fake) -> AsyncIterator[Stack]:
    email = f"root-{uuid.uuid4().hex[:6]}@vellarys.local"
    tenant_settings = settings_for_tests(
        TenantSettings, database_url, tenants_hard_limit=1000, superadmin_email=email,
        superadmin_tenant_slug=f"platform-{uuid.uuid4().hex[:6]}",
    )  # fmt: skip
    tenant_engine = db.create_engine(
        migrated("tenant", tenant.__file__), pool_size=4, max_overflow=4, application_name="t"
    )
    ai_engine = db.create_engine(
        migrated("ai", ai.__file__), pool_size=4, max_overflow=4, application_name="t"
    )
    async with db.session_factory(tenant_engine).begin() as session:
        _, password = await bootstrap(session, tenant_settings)
    tenant_server = build_tenant(tenant_settings, tenant_engine, port=0)
    await tenant_server.start()
    tenant_channel = rpc.make_channel(f"127.0.0.1:{tenant_server.port}", deadline=10)
    port = GrpcTenantPort(tpb_grpc.TenantServiceStub(tenant_channel))
    offline_ai = build_ai(settings_for_tests(AiSettings, database_url), ai_engine, port=0, tenants=port)
    model_settings = settings_for_tests(
        AiSettings, database_url, openai_api_key="test-key", openai_base_url=fake.base_url,
        ai_timeout_seconds=5, ai_canary="VLR-SIM-CANARY",
    )  # fmt: skip
    model_ai = build_ai(model_settings, ai_engine, port=0, tenants=port)
    await offline_ai.start()
    await model_ai.start()
    gateway_settings = settings_for_tests(GatewaySettings, database_url)
    sql = await asyncpg.connect(asyncpg_dsn(database_url))
    async with (
        gateway(gateway_settings, tenant_server.port, offline_ai.port) as http,
        gateway(gateway_settings, tenant_server.port, model_ai.port) as model_http,
    ):
        yield Stack(http, model_http, fake, sql, email, password)
    await sql.close()
    await tenant_channel.close()
    for server in (model_ai, offline_ai, tenant_server):
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


def conversation(*texts: str, **extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "lead", "text": t} for t in texts], **extra}


async def calls(s: Stack, tenant_id: str) -> list[asyncpg.Record]:
    return await s.sql.fetch(
        "SELECT lead_id, job_id, simulated, outcome, model, prompt_tokens FROM ai.calls WHERE tenant_id = $1",
        uuid.UUID(tenant_id),
    )


class TestSimulateOffline:
    async def test_reply_fields_score_and_simulated_call(self, stack):
        tenant_id = await new_tenant(stack)
        admin = await user_headers(stack, tenant_id, "admin")
        r = await stack.http.post(
            "/api/v1/simulator/messages", json=conversation(QUALIFIED, lead_name="Maria"), headers=admin
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["reply"].startswith("Olá, Maria!")
        assert (body["outcome"], body["model"], body["handoff"]) == ("offline", "offline", False)
        fields = {f["name"]: f for f in body["fields"]}
        assert fields["budget"]["value"] == "800000" and fields["budget"]["evidence"] == "até 800 mil"
        assert 0 < fields["budget"]["confidence"] <= 1
        assert body["score"] == 65 and len(body["score_reasons"]) == 4
        assert body["tool_calls"] == [] and body["latency_ms"] >= 0
        rows = await calls(stack, tenant_id)
        assert [(r["lead_id"], r["job_id"], r["simulated"]) for r in rows] == [(None, None, True)]

    async def test_handoff_decision_and_reason(self, stack):
        tenant_id = await new_tenant(stack)
        admin = await user_headers(stack, tenant_id, "admin")
        body = {
            "messages": [
                {"role": "lead", "text": "quero alugar"},
                {"role": "assistant", "text": "Que tipo de imóvel?"},
                {"role": "lead", "text": "Quero falar com um corretor"},
            ],
            "profile": [{"name": "region", "value": "Batel", "evidence": "no Batel"}],
        }
        r = await stack.http.post("/api/v1/simulator/messages", json=body, headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["handoff"] and "corretor" in r.json()["handoff_reason"]
        assert {f["name"]: f["value"] for f in r.json()["fields"]} == {"purpose": "rent", "region": "Batel"}

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"messages": []}, "messages"),
            ({"messages": [{"role": "assistant", "text": "Olá"}]}, "messages"),
            ({"messages": [{"role": "seller", "text": "oi"}]}, "messages.0.role"),
            ({"messages": [{"role": "lead", "text": "x" * 4001}]}, "messages.0.text"),
            (conversation("oi", profile=[{"name": "age", "value": "3"}]), "profile.0.name"),
        ],
    )
    async def test_validation(self, stack, body, field):
        tenant_id = await new_tenant(stack)
        admin = await user_headers(stack, tenant_id, "admin")
        r = await stack.http.post("/api/v1/simulator/messages", json=body, headers=admin)
        assert r.status_code == 422, r.text
        assert field in [d["field"] for d in r.json()["error"]["details"]]

    async def test_roles_and_tenants(self, stack):
        tenant_id, other_id = await new_tenant(stack), await new_tenant(stack)
        for role in ("seller", "viewer"):
            headers = await user_headers(stack, tenant_id, role)
            r = await stack.http.post("/api/v1/simulator/messages", json=conversation("oi"), headers=headers)
            assert r.status_code == 403, r.text
        r = await stack.http.post("/api/v1/simulator/messages", json=conversation("oi"))
        assert r.status_code == 401
        admin = await user_headers(stack, tenant_id, "admin")
        r = await stack.http.post(
            "/api/v1/simulator/messages",
            params={"tenant_id": other_id},
            json=conversation("oi"),
            headers=admin,
        )
        assert r.status_code == 404
        r = await stack.http.post(
            "/api/v1/simulator/messages",
            params={"tenant_id": other_id},
            json=conversation("oi"),
            headers=await superadmin(stack),
        )
        assert r.status_code == 200, r.text
        assert len(await calls(stack, other_id)) == 1 and await calls(stack, tenant_id) == []


class TestSimulateWithModel:
    async def test_current_settings_catalog_and_tool_calls(self, stack):
        tenant_id, other_id = await new_tenant(stack), await new_tenant(stack)
        admin = await user_headers(stack, tenant_id, "admin")
        r = await stack.http.put(
            "/api/v1/settings/ai", json={"system_prompt": "Você é a Bia. PROMPT-SIM-77."}, headers=admin
        )
        assert r.status_code == 200, r.text
        listing = {"code": "AP-101", "title": "Apartamento no Batel", "type": "apartamento",
                   "purpose": "sale", "price": 850000, "bedrooms": 3, "neighbourhood": "Batel",
                   "city": "Curitiba", "status": "available"}  # fmt: skip
        for tid in (tenant_id, other_id):
            r = await stack.http.post(
                "/api/v1/products", params={"tenant_id": tid}, json=listing,
                headers=await superadmin(stack),
            )  # fmt: skip
            assert r.status_code == 201, r.text
        stack.fake.clear()
        stack.fake.queue(
            tool_calls(
                ("search_properties", {"purpose": "buy", "neighbourhood": "Batel"}),
                (
                    "update_lead",
                    {
                        "fields": [
                            {
                                "name": "purpose",
                                "value": "buy",
                                "evidence": "quero comprar",
                                "confidence": 0.9,
                            }
                        ]
                    },
                ),
            ),
            text("Temos o AP-101 no Batel por R$ 850.000. Quer agendar uma visita?"),
        )
        r = await stack.model_http.post(
            "/api/v1/simulator/messages", json=conversation("Oi, quero comprar no Batel"), headers=admin
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["outcome"], body["model"]) == ("ok", "gpt-4o")
        assert body["reply"].startswith("Temos o AP-101")
        tools = {t["name"]: t for t in body["tool_calls"]}
        assert tools["search_properties"]["arguments"] == {"purpose": "buy", "neighbourhood": "Batel"}
        # Only this tenant's catalog: the other agency's identical listing is not there.
        assert tools["search_properties"]["result_summary"] == "1 imóveis: AP-101"
        assert tools["update_lead"]["result_summary"].startswith("salvos: purpose")
        assert [f["name"] for f in body["fields"]] == ["purpose"]
        assert body["prompt_tokens"] == 200 and body["completion_tokens"] == 40
        assert "PROMPT-SIM-77" in stack.fake.requests[0].text()
        rows = await calls(stack, tenant_id)
        assert [(r["simulated"], r["model"], r["prompt_tokens"]) for r in rows] == [(True, "gpt-4o", 200)]


PASSING = {
    "name": "comprador qualificado",
    "lead_name": "Maria",
    **conversation(QUALIFIED),
    "expectations": {
        "fields": {"purpose": "comprar", "budget": "800000", "bedrooms": "3"},
        "handoff": False,
        "reply_contains": ["olá, maria"],
        "reply_not_contains": ["corretor"],
        "min_score": 50,
    },
}
FAILING = {
    "name": "pede corretor",
    **conversation("quero alugar uma casa"),
    "expectations": {"fields": {"bedrooms": "2"}, "handoff": True, "max_score": 10},
}


async def create(s: Stack, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    r = await s.http.post("/api/v1/simulator/cases", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


class TestCases:
    async def test_crud(self, stack):
        admin = await user_headers(stack, await new_tenant(stack), "admin")
        case = await create(stack, admin, PASSING)
        assert case["expectations"]["fields"]["budget"] == "800000" and case["messages"][0]["role"] == "lead"
        assert case["expectations"]["max_score"] is None and case["created_by"]
        r = await stack.http.post("/api/v1/simulator/cases", json=PASSING, headers=admin)
        assert r.status_code == 409 and "already used" in r.json()["error"]["message"]
        r = await stack.http.put(
            f"/api/v1/simulator/cases/{case['id']}", json={**PASSING, "name": "renomeado"}, headers=admin
        )
        assert r.status_code == 200 and r.json()["name"] == "renomeado"
        r = await stack.http.get(f"/api/v1/simulator/cases/{case['id']}", headers=admin)
        assert r.status_code == 200 and r.json()["name"] == "renomeado"
        await create(stack, admin, FAILING)
        r = await stack.http.get("/api/v1/simulator/cases", headers=admin)
        assert [c["name"] for c in r.json()] == ["pede corretor", "renomeado"]
        r = await stack.http.delete(f"/api/v1/simulator/cases/{case['id']}", headers=admin)
        assert r.status_code == 204
        r = await stack.http.get(f"/api/v1/simulator/cases/{case['id']}", headers=admin)
        assert r.status_code == 404

    @pytest.mark.parametrize(
        ("expectations", "status", "field"),
        [
            ({"fields": {"age": "30"}}, 422, "expectations.fields.age"),
            ({"min_score": 101}, 422, "expectations.min_score"),
            ({"reply_contains": [""]}, 422, "expectations.reply_contains.0"),
            ({"min_score": 80, "max_score": 20}, 400, "expectations.max_score"),
        ],
    )
    async def test_validation(self, stack, expectations, status, field):
        admin = await user_headers(stack, await new_tenant(stack), "admin")
        r = await stack.http.post(
            "/api/v1/simulator/cases", json={**FAILING, "expectations": expectations}, headers=admin
        )
        assert r.status_code == status, r.text
        assert field in r.json()["error"]["message"]

    async def test_isolation_and_roles(self, stack):
        tenant_id = await new_tenant(stack)
        admin = await user_headers(stack, tenant_id, "admin")
        intruder = await user_headers(stack, await new_tenant(stack), "admin")
        case = await create(stack, admin, FAILING)
        url = f"/api/v1/simulator/cases/{case['id']}"
        assert (await stack.http.get(url, headers=intruder)).status_code == 404
        assert (await stack.http.put(url, json=PASSING, headers=intruder)).status_code == 404
        assert (await stack.http.delete(url, headers=intruder)).status_code == 404
        r = await stack.http.post(
            "/api/v1/simulator/cases/run", json={"case_ids": [case["id"]]}, headers=intruder
        )
        assert r.status_code == 404
        assert (await stack.http.get("/api/v1/simulator/cases", headers=intruder)).json() == []
        r = await stack.http.get(url, params={"tenant_id": tenant_id}, headers=await superadmin(stack))
        assert r.status_code == 200
        for role in ("seller", "viewer"):
            headers = await user_headers(stack, tenant_id, role)
            for method, path in (("GET", url), ("GET", "/api/v1/simulator/cases"),
                                 ("POST", "/api/v1/simulator/cases/run"), ("GET", "/api/v1/simulator/runs")):  # fmt: skip
                r = await stack.http.request(method, path, headers=headers)
                assert r.status_code == 403, (role, path)


class TestRuns:
    async def test_pass_fail_diff_and_history(self, stack):
        tenant_id = await new_tenant(stack)
        admin = await user_headers(stack, tenant_id, "admin")
        passing, failing = await create(stack, admin, PASSING), await create(stack, admin, FAILING)
        r = await stack.http.post("/api/v1/simulator/cases/run", headers=admin)
        assert r.status_code == 200, r.text
        run = r.json()
        assert (run["total"], run["passed"], run["failed"]) == (2, 1, 1)
        assert run["summary"] == "1 of 2 cases passed" and run["settings_version"] == 0
        results = {c["case_id"]: c for c in run["results"]}
        assert results[passing["id"]]["passed"] and all(c["passed"] for c in results[passing["id"]]["checks"])
        diff = {c["expectation"]: c for c in results[failing["id"]]["checks"]}
        assert diff["fields.bedrooms"] == {
            "expectation": "fields.bedrooms",
            "expected": "2",
            "actual": "",
            "passed": False,
        }
        assert (diff["handoff"]["expected"], diff["handoff"]["actual"], diff["handoff"]["passed"]) == (
            "true", "false", False,
        )  # fmt: skip
        assert diff["max_score"]["expected"] == "10" and int(diff["max_score"]["actual"]) > 10
        assert results[failing["id"]]["reply"] and results[failing["id"]]["outcome"] == "offline"
        rows = await calls(stack, tenant_id)
        assert len(rows) == 2 and all(r["simulated"] and r["lead_id"] is None for r in rows)
        # A prompt change, then only the failing case again: both runs stay, newest first.
        r = await stack.http.put("/api/v1/settings/ai", json={"system_prompt": "Novo prompt."}, headers=admin)
        assert r.status_code == 200, r.text
        r = await stack.http.post(
            "/api/v1/simulator/cases/run", json={"case_ids": [failing["id"]]}, headers=admin
        )
        assert r.status_code == 200 and (r.json()["total"], r.json()["settings_version"]) == (1, 1)
        r = await stack.http.get("/api/v1/simulator/runs", headers=admin)
        assert [(x["settings_version"], x["passed"], x["failed"]) for x in r.json()] == [(1, 0, 1), (0, 1, 1)]

    async def test_nothing_to_run_and_unknown_case(self, stack):
        admin = await user_headers(stack, await new_tenant(stack), "admin")
        r = await stack.http.post("/api/v1/simulator/cases/run", json={}, headers=admin)
        assert r.status_code == 400 and "no simulator cases" in r.json()["error"]["message"]
        r = await stack.http.post(
            "/api/v1/simulator/cases/run", json={"case_ids": [str(uuid.uuid4())]}, headers=admin
        )
        assert r.status_code == 404
