"""Dashboard auth, tenants, users and audit REST, through the real tenant gRPC server in-process."""

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
    app: object
    super_email: str
    super_password: str
    tokens: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
async def stack(migrated, database_url) -> AsyncIterator[Stack]:
    url = migrated("tenant", tenant.__file__)
    email = f"root-{uuid.uuid4().hex[:6]}@vellarys.local"
    settings = settings_for_tests(
        TenantSettings,
        database_url,
        tenants_hard_limit=1000,
        superadmin_email=email,
        superadmin_tenant_slug=f"platform-{uuid.uuid4().hex[:6]}",
    )
    engine = db.create_engine(url, pool_size=4, max_overflow=4, application_name="test-gw-tenant")
    async with db.session_factory(engine).begin() as session:
        _, password = await bootstrap(session, settings)
    server = build(settings, engine, port=0)
    await server.start()
    # Only the tenant service is needed; the others point nowhere (channels connect lazily).
    channels = {name: rpc.make_channel("127.0.0.1:1") for name in SERVICES}
    channels["tenant"] = rpc.make_channel(f"127.0.0.1:{server.port}")
    app = create_app(settings_for_tests(GatewaySettings, database_url), clients=Clients(channels))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield Stack(http, app, email, password)
    for channel in channels.values():
        await channel.close()
    await server.stop(0)
    await engine.dispose()


async def login(s: Stack, email: str, password: str = PASSWORD) -> dict:
    r = await s.http.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return r.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def superadmin(s: Stack) -> dict[str, str]:
    if "superadmin" not in s.tokens:
        s.tokens["superadmin"] = (await login(s, s.super_email, s.super_password))["access_token"]
    return bearer(s.tokens["superadmin"])


async def new_tenant(s: Stack) -> dict:
    body = {"name": "Imob", "slug": f"t-{uuid.uuid4().hex[:10]}", "niche_id": 1}
    r = await s.http.post("/api/v1/admin/tenants", json=body, headers=await superadmin(s))
    assert r.status_code == 201, r.text
    return r.json()


async def new_user(s: Stack, tenant_id: str, role: str = "admin") -> dict:
    body = {
        "email": f"u{uuid.uuid4().hex[:8]}@example.com",
        "name": "Ana",
        "role": role,
        "password": PASSWORD,
    }
    r = await s.http.post(
        "/api/v1/users", params={"tenant_id": tenant_id}, json=body, headers=await superadmin(s)
    )
    assert r.status_code == 201, r.text
    return r.json()["user"]


class TestRunbookTenantCreation:
    async def test_exactly_as_written(self, stack):
        token = (await login(stack, stack.super_email, stack.super_password))["access_token"]
        r = await stack.http.post(
            "/api/v1/admin/tenants",
            content='{"name": "Imobiliária XYZ", "slug": "imobiliaria-xyz", "niche_id": 1}',
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        assert r.status_code == 201, r.text
        body = r.json()
        assert (body["name"], body["slug"], body["niche_id"], body["status"]) == (
            "Imobiliária XYZ",
            "imobiliaria-xyz",
            1,
            "active",
        )
        assert body["limits"] == {
            "leads_per_day_soft": 500,
            "leads_per_day_hard": 2000,
            "messages_per_minute_soft": 100,
            "messages_per_minute_hard": 500,
        }
        again = await stack.http.post(
            "/api/v1/admin/tenants",
            json={"name": "X", "slug": "imobiliaria-xyz", "niche_id": 1},
            headers=bearer(token),
        )
        assert again.status_code == 409 and again.json()["error"]["code"] == "already_exists"

    async def test_bad_slug_is_422_naming_the_field(self, stack):
        r = await stack.http.post(
            "/api/v1/admin/tenants",
            json={"name": "X", "slug": "Imob_XYZ", "niche_id": 1},
            headers=await superadmin(stack),
        )
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "slug"

    async def test_update_limits_suspend_reactivate_and_list(self, stack):
        t = await new_tenant(stack)
        h = await superadmin(stack)
        r = await stack.http.patch(
            f"/api/v1/admin/tenants/{t['id']}", json={"limits": {"leads_per_day_soft": 800}}, headers=h
        )
        assert r.status_code == 200 and r.json()["limits"]["leads_per_day_soft"] == 800
        r = await stack.http.post(f"/api/v1/admin/tenants/{t['id']}/suspend", headers=h)
        assert r.json()["status"] == "suspended"
        r = await stack.http.post(f"/api/v1/admin/tenants/{t['id']}/reactivate", headers=h)
        assert r.json()["status"] == "active"
        page = (await stack.http.get("/api/v1/admin/tenants", params={"limit": 2}, headers=h)).json()
        assert len(page["items"]) == 2 and page["total"] >= 3
        missing = await stack.http.get(f"/api/v1/admin/tenants/{uuid.uuid4()}", headers=h)
        assert missing.status_code == 404


class TestAuth:
    async def test_login_me_refresh_logout(self, stack):
        t = await new_tenant(stack)
        u = await new_user(stack, t["id"], "seller")
        pair = await login(stack, u["email"])
        assert (
            pair["token_type"] == "bearer" and pair["expires_in"] == 900 and pair["user"]["role"] == "seller"
        )
        me = await stack.http.get("/api/v1/auth/me", headers=bearer(pair["access_token"]))
        assert me.status_code == 200 and me.json()["email"] == u["email"]
        rotated = await stack.http.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert rotated.status_code == 200
        reuse = await stack.http.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert reuse.status_code == 401
        # Reuse killed the family: the rotated token is dead too.
        dead = await stack.http.post(
            "/api/v1/auth/refresh", json={"refresh_token": rotated.json()["refresh_token"]}
        )
        assert dead.status_code == 401
        fresh = await login(stack, u["email"])
        out = await stack.http.post("/api/v1/auth/logout", json={"refresh_token": fresh["refresh_token"]})
        assert out.status_code == 204

    @pytest.mark.parametrize("header", [None, "Bearer nonsense", "Basic abc"])
    async def test_missing_or_invalid_token_is_401(self, stack, header):
        headers = {"Authorization": header} if header else {}
        r = await stack.http.get("/api/v1/auth/me", headers=headers)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"

    async def test_deactivation_and_suspension_take_effect_at_once(self, stack):
        t = await new_tenant(stack)
        admin = await new_user(stack, t["id"])
        seller = await new_user(stack, t["id"], "seller")
        admin_h = bearer((await login(stack, admin["email"]))["access_token"])
        seller_h = bearer((await login(stack, seller["email"]))["access_token"])
        assert (await stack.http.get("/api/v1/auth/me", headers=seller_h)).status_code == 200
        r = await stack.http.post(f"/api/v1/users/{seller['id']}/deactivate", headers=admin_h)
        assert r.status_code == 200 and r.json()["active"] is False
        assert (await stack.http.get("/api/v1/auth/me", headers=seller_h)).status_code == 401
        assert (await stack.http.get("/api/v1/users", headers=admin_h)).status_code == 200
        await stack.http.post(f"/api/v1/admin/tenants/{t['id']}/suspend", headers=await superadmin(stack))
        assert (await stack.http.get("/api/v1/users", headers=admin_h)).status_code == 401
        again = await stack.http.post(
            "/api/v1/auth/login", json={"email": admin["email"], "password": PASSWORD}
        )
        assert again.status_code == 401

    async def test_failed_logins_are_throttled_with_retry_after(self, stack):
        t = await new_tenant(stack)
        u = await new_user(stack, t["id"])
        for _ in range(5):
            r = await stack.http.post(
                "/api/v1/auth/login", json={"email": u["email"], "password": "wrong-wrong"}
            )
            assert r.status_code == 401
        r = await stack.http.post("/api/v1/auth/login", json={"email": u["email"], "password": PASSWORD})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0

    async def test_oversized_body_is_413(self, stack):
        r = await stack.http.post("/api/v1/auth/login", json={"email": "a@b.co", "password": "x" * 40_000})
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"


class TestUsers:
    async def test_admin_manages_users_and_rules_hold(self, stack):
        t = await new_tenant(stack)
        admin = await new_user(stack, t["id"])
        h = bearer((await login(stack, admin["email"]))["access_token"])
        email = f"c{uuid.uuid4().hex[:6]}@example.com"
        body = {"email": email, "name": "Corretor", "role": "seller", "phone": "+5541999998888"}
        created = await stack.http.post("/api/v1/users", json=body, headers=h)
        assert created.status_code == 201 and created.json()["temporary_password"]
        dup = await stack.http.post("/api/v1/users", json={**body, "email": email.upper()}, headers=h)
        assert dup.status_code == 409
        bad = await stack.http.post(
            "/api/v1/users", json={**body, "email": "x@y.com", "phone": "123"}, headers=h
        )
        assert bad.status_code == 400 and "phone" in bad.json()["error"]["message"]
        last = await stack.http.patch(f"/api/v1/users/{admin['id']}", json={"role": "viewer"}, headers=h)
        assert last.status_code == 409 and "last active admin" in last.json()["error"]["message"]
        uid = created.json()["user"]["id"]
        reset = await stack.http.post(
            f"/api/v1/users/{uid}/reset-password", json={"password": "a brand new one"}, headers=h
        )
        assert reset.status_code == 200 and reset.json()["temporary_password"] is None
        await login(stack, email, "a brand new one")
        page = (await stack.http.get("/api/v1/users", headers=h)).json()
        assert page["total"] == 2
        audit = (await stack.http.get("/api/v1/audit", headers=h)).json()["items"]
        actions = {e["action"] for e in audit}
        assert {"user.create", "user.password_reset", "auth.login"} <= actions
        assert all(e["tenant_id"] == t["id"] for e in audit)
        assert all("brand new" not in str(e["details"]) for e in audit)


class TestOpenApi:
    async def test_docs_describe_every_route(self, stack):
        spec = (await stack.http.get("/openapi.json")).json()
        for path in (
            "/api/v1/auth/login",
            "/api/v1/admin/tenants",
            "/api/v1/users/{user_id}",
            "/api/v1/audit",
        ):
            assert path in spec["paths"]
