"""Settings REST (channels, AI settings) through the gateway and the real tenant gRPC server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

import tenant
from gateway.app import create_app
from gateway.clients import Clients
from gateway.config import Settings as GatewaySettings
from kit import db, rpc
from kit.config import SERVICES
from kit.testing import settings_for_tests
from tenant.config import Settings as TenantSettings
from tenant.seed import bootstrap
from tenant.server import build

PASSWORD = "correct horse battery"


@dataclass
class Stack:
    http: httpx.AsyncClient
    super_email: str
    super_password: str
    tokens: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
async def stack(migrated, database_url) -> AsyncIterator[Stack]:
    url = migrated("tenant", tenant.__file__)
    email = f"root-{uuid.uuid4().hex[:6]}@vellarys.local"
    settings = settings_for_tests(
        TenantSettings, database_url, tenants_hard_limit=1000, superadmin_email=email,
        superadmin_tenant_slug=f"platform-{uuid.uuid4().hex[:6]}",
    )  # fmt: skip
    engine = db.create_engine(url, pool_size=4, max_overflow=4, application_name="test-gw-catalog")
    async with db.session_factory(engine).begin() as session:
        _, password = await bootstrap(session, settings)
    server = build(settings, engine, port=0)
    await server.start()
    channels = {name: rpc.make_channel("127.0.0.1:1") for name in SERVICES}
    channels["tenant"] = rpc.make_channel(f"127.0.0.1:{server.port}", deadline=60)
    gateway_settings = settings_for_tests(
        GatewaySettings, database_url, public_base_url="https://api.example.com"
    )
    app = create_app(gateway_settings, clients=Clients(channels))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield Stack(http, email, password)
    for channel in channels.values():
        await channel.close()
    await server.stop(0)
    await engine.dispose()


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


class TestChannelRoutes:
    async def test_crud_masking_webhook_url_and_rotation(self, stack):
        tenant_id = await new_tenant(stack)
        admin = await user_headers(stack, tenant_id, "admin")
        body = {
            "provider": "gupshup", "name": "Vendas", "external_id": "ImobApp", "phone_number": "5541999990000",
            "secrets": {"api_key": "gupshup-api-key-0123456789"},
        }  # fmt: skip
        r = await stack.http.post("/api/v1/settings/channels", json=body, headers=admin)
        assert r.status_code == 201, r.text
        channel = r.json()
        assert channel["masked_secrets"] == {"api_key": "••••6789"}
        assert "gupshup-api-key-0123456789" not in r.text
        assert channel["webhook_url"].startswith("https://api.example.com/api/v1/webhook/gupshup/")
        r = await stack.http.patch(
            f"/api/v1/settings/channels/{channel['id']}",
            json={"active": False, "name": "Locação"},
            headers=admin,
        )
        assert r.status_code == 200 and (r.json()["active"], r.json()["name"]) == (False, "Locação")
        r = await stack.http.post(f"/api/v1/settings/channels/{channel['id']}/rotate-token", headers=admin)
        assert r.status_code == 200 and r.json()["webhook_url"] != channel["webhook_url"]
        r = await stack.http.get("/api/v1/settings/channels", headers=admin)
        assert [c["id"] for c in r.json()] == [channel["id"]]
        r = await stack.http.delete(f"/api/v1/settings/channels/{channel['id']}", headers=admin)
        assert r.status_code == 204
        r = await stack.http.get(f"/api/v1/settings/channels/{channel['id']}", headers=admin)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"

    async def test_validation_roles_and_isolation(self, stack):
        tenant_id, other_id = await new_tenant(stack), await new_tenant(stack)
        admin, other = (
            await user_headers(stack, tenant_id, "admin"),
            await user_headers(stack, other_id, "admin"),
        )
        r = await stack.http.post(
            "/api/v1/settings/channels",
            json={"provider": "x", "external_id": "1", "secrets": {}},
            headers=admin,
        )
        assert r.status_code == 422 and "provider" in r.json()["error"]["message"]
        r = await stack.http.post(
            "/api/v1/settings/channels",
            json={"provider": "zapi", "external_id": "inst-1", "secrets": {"client_token": "c"}},
            headers=admin,
        )
        assert r.status_code == 400 and "token" in r.json()["error"]["message"]
        body = {
            "provider": "zapi",
            "external_id": f"inst-{uuid.uuid4().hex[:6]}",
            "secrets": {"token": "t" * 20},
        }
        channel = (await stack.http.post("/api/v1/settings/channels", json=body, headers=admin)).json()
        assert (
            await stack.http.get(f"/api/v1/settings/channels/{channel['id']}", headers=other)
        ).status_code == 404
        seller = await user_headers(stack, tenant_id, "seller")
        assert (await stack.http.get("/api/v1/settings/channels", headers=seller)).status_code == 403
        r = await stack.http.get(
            "/api/v1/settings/channels", params={"tenant_id": tenant_id}, headers=await superadmin(stack)
        )
        assert [c["id"] for c in r.json()] == [channel["id"]]


class TestAiRoutes:
    async def test_put_versions_diff_rollback(self, stack):
        tenant_id = await new_tenant(stack)
        admin = await user_headers(stack, tenant_id, "admin")
        r = await stack.http.get("/api/v1/settings/ai", headers=admin)
        assert r.status_code == 200 and r.json()["version"] == 0 and r.json()["settings"]["model"] == "gpt-4o"
        r = await stack.http.put(
            "/api/v1/settings/ai", json={"tone": "formal", "temperature": 0.3}, headers=admin
        )
        assert r.status_code == 200 and r.json()["version"] == 1
        assert r.json()["actor_email"].endswith("@example.com")
        r = await stack.http.put(
            "/api/v1/settings/ai",
            json={"handoff": {"score_threshold": 80, "keywords": ["visita"]}},
            headers=admin,
        )
        assert r.json()["version"] == 2 and r.json()["settings"]["tone"] == "formal"
        r = await stack.http.get("/api/v1/settings/ai/diff", params={"from": 1, "to": 2}, headers=admin)
        changes = {c["field"]: (c["from_value"], c["to_value"]) for c in r.json()}
        assert changes == {
            "handoff.keywords": (changes["handoff.keywords"][0], ["visita"]),
            "handoff.score_threshold": (70, 80),
        }
        r = await stack.http.post("/api/v1/settings/ai/rollback/1", headers=admin)
        assert (r.json()["version"], r.json()["rolled_back_from"]) == (3, 1)
        r = await stack.http.get("/api/v1/settings/ai/versions", headers=admin)
        assert [v["version"] for v in r.json()] == [3, 2, 1]
        r = await stack.http.get("/api/v1/settings/ai/versions/2", headers=admin)
        assert r.json()["settings"]["handoff"]["score_threshold"] == 80
        r = await stack.http.put("/api/v1/settings/ai", json={"temperature": 3}, headers=admin)
        assert r.status_code == 422 and "temperature" in r.json()["error"]["message"]
        viewer = await user_headers(stack, tenant_id, "viewer")
        assert (await stack.http.get("/api/v1/settings/ai", headers=viewer)).status_code == 403
        assert (await stack.http.get("/api/v1/settings/ai/versions/99", headers=admin)).status_code == 404
