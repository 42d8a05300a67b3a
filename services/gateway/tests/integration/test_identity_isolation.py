"""Generated isolation test: every identity/admin route × every role × own/other tenant.

The table is checked against the app's routes, so a new route under these prefixes without an entry
fails. Expected: anonymous 401; wrong role 403; another tenant's object 404 (never 403, so existence
does not leak); the superadmin may act on any tenant.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

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
        TenantSettings, database_url, tenants_hard_limit=1000, superadmin_email=email,
        superadmin_tenant_slug=f"platform-{uuid.uuid4().hex[:6]}",
    )  # fmt: skip
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


PREFIXES = ("/api/v1/auth", "/api/v1/admin", "/api/v1/users", "/api/v1/audit", "/api/v1/niches")
ROLES = ("superadmin", "admin", "seller", "viewer", "anonymous")
Request = tuple[str, dict[str, Any] | None, dict[str, Any] | None]  # url, params, json


@dataclass
class World:
    s: Stack
    tenant: dict[str, dict]  # "own" / "other"
    headers: dict[str, dict[str, str]]


@dataclass(frozen=True)
class Entry:
    """`who`: public, any (signed-in), superadmin, admin (tenant admins + superadmin)."""

    who: str
    ok: int
    make: Callable[[World, str], Awaitable[Request]]
    public_status: int = 0


async def fixed(url: str, body: dict[str, Any] | None = None) -> Request:
    return url, None, body


async def tenant_target(w: World, scope: str) -> dict:
    # A throwaway tenant, so suspending it can't lock the role users out of the rest of the walk.
    return await new_tenant(w.s)


async def user_target(w: World, scope: str) -> dict:
    return await new_user(w.s, w.tenant[scope]["id"], "seller")


def for_scope(w: World, scope: str) -> dict[str, Any] | None:
    return None if scope == "own" else {"tenant_id": w.tenant["other"]["id"]}


def user_route(suffix: str, body: dict[str, Any] | None = None) -> Callable[[World, str], Awaitable[Request]]:
    async def make(w: World, scope: str) -> Request:
        return f"/api/v1/users/{(await user_target(w, scope))['id']}{suffix}", None, body

    return make


def tenant_route(
    suffix: str, body: dict[str, Any] | None = None
) -> Callable[[World, str], Awaitable[Request]]:
    async def make(w: World, scope: str) -> Request:
        return f"/api/v1/admin/tenants/{(await tenant_target(w, scope))['id']}{suffix}", None, body

    return make


def unique_email() -> str:
    return f"n{uuid.uuid4().hex[:10]}@example.com"


TABLE: dict[tuple[str, str], Entry] = {
    ("POST", "/api/v1/auth/login"): Entry(
        "public", 200, lambda w, s: fixed("/api/v1/auth/login", {"email": unique_email(), "password": "wrong"}), 401
    ),
    ("POST", "/api/v1/auth/refresh"): Entry(
        "public", 200, lambda w, s: fixed("/api/v1/auth/refresh", {"refresh_token": "forged"}), 401
    ),
    ("POST", "/api/v1/auth/logout"): Entry(
        "public", 204, lambda w, s: fixed("/api/v1/auth/logout", {"refresh_token": "forged"}), 204
    ),
    ("GET", "/api/v1/auth/me"): Entry("any", 200, lambda w, s: fixed("/api/v1/auth/me")),
    ("GET", "/api/v1/niches"): Entry("any", 200, lambda w, s: fixed("/api/v1/niches")),
    ("POST", "/api/v1/admin/tenants"): Entry(
        "superadmin", 201,
        lambda w, s: fixed("/api/v1/admin/tenants", {"name": "N", "slug": f"n-{uuid.uuid4().hex[:8]}", "niche_id": 1}),
    ),
    ("GET", "/api/v1/admin/tenants"): Entry("superadmin", 200, lambda w, s: fixed("/api/v1/admin/tenants")),
    ("GET", "/api/v1/admin/tenants/{tenant_id}"): Entry("superadmin", 200, tenant_route("")),
    ("PATCH", "/api/v1/admin/tenants/{tenant_id}"): Entry("superadmin", 200, tenant_route("", {"name": "Renamed"})),
    ("POST", "/api/v1/admin/tenants/{tenant_id}/suspend"): Entry("superadmin", 200, tenant_route("/suspend")),
    ("POST", "/api/v1/admin/tenants/{tenant_id}/reactivate"): Entry("superadmin", 200, tenant_route("/reactivate")),
    ("GET", "/api/v1/users"): Entry("admin", 200, lambda w, s: fixed_params("/api/v1/users", for_scope(w, s))),
    ("POST", "/api/v1/users"): Entry(
        "admin", 201,
        lambda w, s: fixed_params("/api/v1/users", for_scope(w, s), {"email": unique_email(), "name": "N", "role": "viewer"}),
    ),
    ("GET", "/api/v1/users/{user_id}"): Entry("admin", 200, user_route("")),
    ("PATCH", "/api/v1/users/{user_id}"): Entry("admin", 200, user_route("", {"name": "Renamed"})),
    ("POST", "/api/v1/users/{user_id}/deactivate"): Entry("admin", 200, user_route("/deactivate")),
    ("POST", "/api/v1/users/{user_id}/reset-password"): Entry("admin", 200, user_route("/reset-password")),
    ("GET", "/api/v1/audit"): Entry("admin", 200, lambda w, s: fixed_params("/api/v1/audit", for_scope(w, s))),
}  # fmt: skip


async def fixed_params(
    url: str, params: dict[str, Any] | None, body: dict[str, Any] | None = None
) -> Request:
    return url, params, body


def expected(entry: Entry, role: str, scope: str) -> int:
    if entry.who == "public":
        return entry.public_status
    if role == "anonymous":
        return 401
    if entry.who == "any" or role == "superadmin":
        return entry.ok
    if entry.who == "superadmin" or role not in ("admin",):
        return 403
    return entry.ok if scope == "own" else 404


def app_routes(app: Any) -> set[tuple[str, str]]:
    """Every (method, path) the app serves under PREFIXES, from its OpenAPI description."""
    paths = app.openapi()["paths"]
    return {(m.upper(), p) for p, ops in paths.items() if p.startswith(PREFIXES) for m in ops}


@pytest.fixture(scope="module")
async def world(stack) -> World:
    own, other = await new_tenant(stack), await new_tenant(stack)
    headers: dict[str, dict[str, str]] = {"anonymous": {}, "superadmin": await superadmin(stack)}
    for role in ("admin", "seller", "viewer"):
        user = await new_user(stack, own["id"], role)
        headers[role] = bearer((await login(stack, user["email"]))["access_token"])
    # The other tenant has its own admin, so the last-admin rule never masks a 404.
    await new_user(stack, other["id"], "admin")
    return World(stack, {"own": own, "other": other}, headers)


class TestIsolation:
    async def test_every_route_has_an_entry(self, stack):
        assert app_routes(stack.app) == set(TABLE)

    async def test_every_route_role_and_tenant(self, world):
        wrong = []
        for (method, path), entry in sorted(TABLE.items()):
            for role in ROLES:
                for scope in ("own", "other"):
                    url, params, body = await entry.make(world, scope)
                    r = await world.s.http.request(
                        method, url, params=params, json=body, headers=world.headers[role]
                    )
                    want = expected(entry, role, scope)
                    if r.status_code != want:
                        wrong.append(
                            f"{method} {path} as {role} on {scope} tenant: {r.status_code} != {want}"
                        )
        assert wrong == []
