"""Generated isolation test: every settings/catalog route × every role × own/other tenant.

The table is checked against the app's routes, so a new route under these prefixes without an entry
fails. Expected: anonymous 401; a role without the right 403; another tenant's object (or another
tenant named in ?tenant_id=) 404, never 403, so existence does not leak; the superadmin may act on
any tenant through ?tenant_id=. A rejected write must leave its target exactly as it was.
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
PREFIXES = ("/api/v1/settings", "/api/v1/products")
ROLES = ("superadmin", "admin", "seller", "viewer", "anonymous")
SCOPES = ("own", "other")
Params = dict[str, Any] | None


@dataclass
class Stack:
    http: httpx.AsyncClient
    app: Any
    super_email: str
    super_password: str
    tokens: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
async def stack(migrated: Any, database_url: str) -> AsyncIterator[Stack]:
    url = migrated("tenant", tenant.__file__)
    email = f"root-{uuid.uuid4().hex[:6]}@vellarys.local"
    settings = settings_for_tests(
        TenantSettings, database_url, tenants_hard_limit=1000, superadmin_email=email,
        superadmin_tenant_slug=f"platform-{uuid.uuid4().hex[:6]}",
    )  # fmt: skip
    engine = db.create_engine(url, pool_size=4, max_overflow=4, application_name="test-gw-ctx-iso")
    async with db.session_factory(engine).begin() as session:
        _, password = await bootstrap(session, settings)
    server = build(settings, engine, port=0)
    await server.start()
    # Only the tenant service is needed; the others point nowhere (channels connect lazily).
    channels = {name: rpc.make_channel("127.0.0.1:1") for name in SERVICES}
    channels["tenant"] = rpc.make_channel(f"127.0.0.1:{server.port}", deadline=60)
    gateway_settings = settings_for_tests(
        GatewaySettings, database_url, public_base_url="https://api.example.com"
    )
    app = create_app(gateway_settings, clients=Clients(channels))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield Stack(http, app, email, password)
    for channel in channels.values():
        await channel.close()
    await server.stop(0)
    await engine.dispose()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def login(s: Stack, email: str, password: str = PASSWORD) -> dict[str, str]:
    r = await s.http.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return bearer(r.json()["access_token"])


async def superadmin(s: Stack) -> dict[str, str]:
    if "superadmin" not in s.tokens:
        s.tokens["superadmin"] = (await login(s, s.super_email, s.super_password))["Authorization"]
    return {"Authorization": s.tokens["superadmin"]}


async def as_super(s: Stack, method: str, url: str, tenant_id: str, **kw: Any) -> httpx.Response:
    headers = await superadmin(s)
    return await s.http.request(method, url, params={"tenant_id": tenant_id}, headers=headers, **kw)


async def new_tenant(s: Stack) -> str:
    body = {"name": "Imob", "slug": f"t-{uuid.uuid4().hex[:10]}", "niche_id": 1}
    r = await s.http.post("/api/v1/admin/tenants", json=body, headers=await superadmin(s))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def new_user(s: Stack, tenant_id: str, role: str) -> str:
    email = f"u{uuid.uuid4().hex[:8]}@example.com"
    body = {"email": email, "name": "Ana", "role": role, "password": PASSWORD}
    r = await as_super(s, "POST", "/api/v1/users", tenant_id, json=body)
    assert r.status_code == 201, r.text
    return email


def channel_body() -> dict[str, Any]:
    external = f"inst-{uuid.uuid4().hex[:8]}"
    return {"provider": "zapi", "external_id": external, "secrets": {"token": "t" * 20}}


def product_body() -> dict[str, Any]:
    code = f"P-{uuid.uuid4().hex[:8]}"
    return {"code": code, "title": "Casa no Batel", "city": "Curitiba", "trigger_keywords": ["batel"]}


async def new_channel(s: Stack, tenant_id: str) -> str:
    r = await as_super(s, "POST", "/api/v1/settings/channels", tenant_id, json=channel_body())
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def new_product(s: Stack, tenant_id: str) -> str:
    r = await as_super(s, "POST", "/api/v1/products", tenant_id, json=product_body())
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


@dataclass
class World:
    s: Stack
    tenant: dict[str, str]  # scope -> tenant id
    channel: dict[str, str]  # scope -> a channel kept for non-destructive calls
    product: dict[str, str]
    headers: dict[str, dict[str, str]]


@dataclass
class Call:
    url: str
    params: Params = None
    json: Any = None
    files: dict[str, Any] | None = None
    probe: str | None = None  # read (as superadmin, in the target tenant) that a rejection must not change
    target: str = ""  # the tenant the call aims at


Make = Callable[[World, str, str], Awaitable[Call]]  # (world, role, scope)


@dataclass(frozen=True)
class Entry:
    """`who`: admin (tenant admins + superadmin) or reader (every signed-in role)."""

    who: str
    ok: int
    make: Make
    invalid: Make | None = None  # the same call with a body the route must reject with 422


def tenant_params(w: World, role: str, scope: str) -> dict[str, Any]:
    """The superadmin names the tenant; the others act on their own or name the other one."""
    if role == "superadmin" or scope == "other":
        return {"tenant_id": w.tenant[scope]}
    return {}


def collection(
    url: str,
    body: Callable[[], Any] | None = None,
    probe: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Make:
    async def make(w: World, role: str, scope: str) -> Call:
        params = {**tenant_params(w, role, scope), **(extra or {})}
        return Call(url, params, body() if body else None, probe=probe, target=w.tenant[scope])

    return make


def obj(kind: str, suffix: str = "", body: Any = None, *, fresh: bool = False, probe: bool = True) -> Make:
    """A call on one channel/product of the scope's tenant; only the superadmin names the tenant,
    so for the others the other tenant's object must be invisible by id alone."""
    base = {"channel": "/api/v1/settings/channels", "product": "/api/v1/products"}[kind]

    async def make(w: World, role: str, scope: str) -> Call:
        tid = w.tenant[scope]
        if fresh:
            oid = await (new_channel if kind == "channel" else new_product)(w.s, tid)
        else:
            oid = getattr(w, kind)[scope]
        params = {"tenant_id": tid} if role == "superadmin" else None
        return Call(
            f"{base}/{oid}{suffix}", params, body, probe=f"{base}/{oid}" if probe else None, target=tid
        )

    return make


def csv_import(content: bytes | None) -> Make:
    async def make(w: World, role: str, scope: str) -> Call:
        code = f"CSV-{uuid.uuid4().hex[:8]}"
        data = content if content is not None else f"codigo;titulo\n{code};Casa\n".encode()
        files = {"file": ("imoveis.csv", data, "text/csv")}
        return Call(
            "/api/v1/products/import", tenant_params(w, role, scope), files=files,
            probe="/api/v1/products", target=w.tenant[scope],
        )  # fmt: skip

    return make


def no_file() -> Make:
    async def make(w: World, role: str, scope: str) -> Call:
        call = await csv_import(None)(w, role, scope)
        call.files = {"other": ("x.txt", b"x", "text/plain")}
        return call

    return make


CHANNELS, AI, PRODUCTS = "/api/v1/settings/channels", "/api/v1/settings/ai", "/api/v1/products"

TABLE: dict[tuple[str, str], Entry] = {
    ("GET", CHANNELS): Entry("admin", 200, collection(CHANNELS)),
    ("POST", CHANNELS): Entry(
        "admin", 201, collection(CHANNELS, channel_body, probe=CHANNELS),
        collection(CHANNELS, lambda: {**channel_body(), "provider": "x"}, probe=CHANNELS),
    ),
    ("GET", CHANNELS + "/{channel_id}"): Entry("admin", 200, obj("channel", probe=False)),
    ("PATCH", CHANNELS + "/{channel_id}"): Entry(
        "admin", 200, obj("channel", body={"name": "Renamed"}), obj("channel", body={"name": "x" * 101})
    ),
    ("DELETE", CHANNELS + "/{channel_id}"): Entry("admin", 204, obj("channel", fresh=True)),
    ("POST", CHANNELS + "/{channel_id}/rotate-token"): Entry("admin", 200, obj("channel", "/rotate-token")),
    ("GET", AI): Entry("admin", 200, collection(AI)),
    ("PUT", AI): Entry(
        "admin", 200, collection(AI, lambda: {"tone": f"tom {uuid.uuid4().hex[:4]}"}, probe=AI),
        collection(AI, lambda: {"temperature": 3}, probe=AI),
    ),
    ("GET", AI + "/versions"): Entry("admin", 200, collection(AI + "/versions")),
    ("GET", AI + "/diff"): Entry("admin", 200, collection(AI + "/diff", extra={"from": 1, "to": 2})),
    ("GET", AI + "/versions/{version}"): Entry("admin", 200, collection(AI + "/versions/1")),
    ("POST", AI + "/rollback/{version}"): Entry("admin", 200, collection(AI + "/rollback/1", probe=AI)),
    ("GET", PRODUCTS + "/search"): Entry("reader", 200, collection(PRODUCTS + "/search", extra={"q": "casa batel"})),
    ("POST", PRODUCTS + "/match"): Entry(
        "reader", 200, collection(PRODUCTS + "/match", lambda: {"text": "vi a casa no batel"}),
        collection(PRODUCTS + "/match", lambda: {"text": ""}),
    ),
    ("POST", PRODUCTS + "/import"): Entry("admin", 200, csv_import(None), no_file()),
    ("GET", PRODUCTS): Entry("reader", 200, collection(PRODUCTS)),
    ("POST", PRODUCTS): Entry(
        "admin", 201, collection(PRODUCTS, product_body, probe=PRODUCTS),
        collection(PRODUCTS, lambda: {**product_body(), "price": -1}, probe=PRODUCTS),
    ),
    ("GET", PRODUCTS + "/{product_id}"): Entry("reader", 200, obj("product", probe=False)),
    ("PATCH", PRODUCTS + "/{product_id}"): Entry(
        "admin", 200, obj("product", body={"title": "Renamed"}), obj("product", body={"bedrooms": -1})
    ),
    ("DELETE", PRODUCTS + "/{product_id}"): Entry("admin", 204, obj("product", fresh=True)),
}  # fmt: skip


def expected(entry: Entry, role: str, scope: str, ok: int, elsewhere: int = 404) -> int:
    """`elsewhere`: what an allowed tenant role gets when aiming at the other tenant."""
    if role == "anonymous":
        return 401
    if role == "superadmin":
        return ok
    if entry.who == "admin" and role != "admin":
        return 403
    return ok if scope == "own" else elsewhere


def app_routes(app: Any) -> set[tuple[str, str]]:
    """Every (method, path) the app serves under PREFIXES, from its OpenAPI description."""
    paths = app.openapi()["paths"]
    return {(m.upper(), p) for p, ops in paths.items() if p.startswith(PREFIXES) for m in ops}


@pytest.fixture(scope="module")
async def world(stack: Stack) -> World:
    tenants = {scope: await new_tenant(stack) for scope in SCOPES}
    headers: dict[str, dict[str, str]] = {"anonymous": {}, "superadmin": await superadmin(stack)}
    for role in ("admin", "seller", "viewer"):
        headers[role] = await login(stack, await new_user(stack, tenants["own"], role))
    for tid in tenants.values():
        await new_user(stack, tid, "admin")
        for tone in ("formal", "casual"):  # versions 1 and 2, for diff/get/rollback
            r = await as_super(stack, "PUT", AI, tid, json={"tone": tone})
            assert r.status_code == 200, r.text
    channel = {scope: await new_channel(stack, tid) for scope, tid in tenants.items()}
    product = {scope: await new_product(stack, tid) for scope, tid in tenants.items()}
    return World(stack, tenants, channel, product, headers)


async def snapshot(w: World, call: Call) -> Any:
    if call.probe is None:
        return None
    r = await as_super(w.s, "GET", call.probe, call.target)
    assert r.status_code == 200, f"probe {call.probe}: {r.status_code} {r.text}"  # else it proves nothing
    return r.json()


async def walk(
    w: World, pick: Callable[[Entry], Make | None], ok: int = 0, elsewhere: int = 404
) -> list[str]:
    wrong = []
    for (method, path), entry in sorted(TABLE.items()):
        make = pick(entry)
        if make is None:
            continue
        for role in ROLES:
            for scope in SCOPES:
                call = await make(w, role, scope)
                before = await snapshot(w, call)
                r = await w.s.http.request(
                    method, call.url, params=call.params, json=call.json, files=call.files,
                    headers=w.headers[role],
                )  # fmt: skip
                want = expected(entry, role, scope, ok or entry.ok, elsewhere)
                where = f"{method} {path} as {role} on {scope} tenant"
                if r.status_code != want:
                    wrong.append(f"{where}: {r.status_code} != {want} {r.text[:200]}")
                if r.status_code >= 400 and before != await snapshot(w, call):
                    wrong.append(f"{where}: rejected with {r.status_code} but changed {call.probe}")
    return wrong


class TestTenantContextIsolation:
    async def test_every_route_has_an_entry(self, stack: Stack) -> None:
        assert app_routes(stack.app) == set(TABLE)

    async def test_every_route_role_and_tenant(self, world: World) -> None:
        assert await walk(world, lambda e: e.make) == []

    async def test_invalid_bodies_are_rejected_after_the_role_check(self, world: World) -> None:
        # A viewer gets 403 (not 422) even for a malformed body; allowed roles get 422 whichever
        # tenant they aim at (the body is judged before any lookup, so nothing leaks); nothing written.
        assert await walk(world, lambda e: e.invalid, ok=422, elsewhere=422) == []
