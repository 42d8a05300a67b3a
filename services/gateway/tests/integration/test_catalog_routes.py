"""Catalog REST through the gateway and the real tenant gRPC server: CRUD, import, search, match."""

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


CSV = (
    "Código;Título;Tipo;Finalidade;Preço;Quartos;Vagas;Bairro;Cidade;Palavras-chave\n"
    "AP-1234;Apartamento no Batel;Apartamento;Venda;R$ 850.000,00;3;2;Batel;Curitiba;\n"
    "CO-77;Cobertura duplex;Cobertura;Venda;1,2 mi;4;3;Água Verde;Curitiba;cobertura\n"
)


async def upload(stack, headers, content: bytes, partial: bool = False):
    files = {"file": ("imoveis.csv", content, "text/csv")}
    return await stack.http.post(
        "/api/v1/products/import", files=files, data={"partial": str(partial).lower()}, headers=headers
    )


class TestCatalogRoutes:
    async def test_import_search_match_and_crud(self, stack):
        tenant_id = await new_tenant(stack)
        admin = await user_headers(stack, tenant_id, "admin")
        r = await upload(stack, admin, CSV.encode("cp1252"))
        assert r.status_code == 200, r.text
        assert (r.json()["applied"], r.json()["created"], r.json()["encoding"]) == (True, 2, "cp1252")
        seller = await user_headers(stack, tenant_id, "seller")
        r = await stack.http.get(
            "/api/v1/products/search", params={"q": "cobertura agua verde"}, headers=seller
        )
        assert r.status_code == 200 and r.json()["items"][0]["product"]["code"] == "CO-77"
        assert r.json()["items"][0]["product"]["price"] == "1200000.00"
        r = await stack.http.get(
            "/api/v1/products/search",
            params={"min_bedrooms": 3, "max_price": 900000, "city": "CURITIBA"},
            headers=seller,
        )
        assert [h["product"]["code"] for h in r.json()["items"]] == ["AP-1234"]
        r = await stack.http.post(
            "/api/v1/products/match", json={"text": "vi o ap-1234, tem cobertura?"}, headers=seller
        )
        assert {m["product"]["code"]: m["matched_by"] for m in r.json()} == {
            "AP-1234": ["code"], "CO-77": ["keyword:cobertura"],
        }  # fmt: skip
        r = await stack.http.post(
            "/api/v1/products",
            json={"code": "CA-1", "title": "Casa", "purpose": "rent", "price": "3500.50"},
            headers=admin,
        )
        assert r.status_code == 201, r.text
        product = r.json()
        assert product["price"] == "3500.50" and product["status"] == "available"
        r = await stack.http.patch(
            f"/api/v1/products/{product['id']}", json={"status": "rented", "price": None}, headers=admin
        )
        assert (r.json()["status"], r.json()["price"], r.json()["title"]) == ("rented", None, "Casa")
        viewer = await user_headers(stack, tenant_id, "viewer")
        assert (await stack.http.get(f"/api/v1/products/{product['id']}", headers=viewer)).status_code == 200
        assert (
            await stack.http.delete(f"/api/v1/products/{product['id']}", headers=viewer)
        ).status_code == 403
        assert (await upload(stack, seller, CSV.encode())).status_code == 403
        assert (
            await stack.http.delete(f"/api/v1/products/{product['id']}", headers=admin)
        ).status_code == 204
        r = await stack.http.get("/api/v1/products", headers=viewer)
        assert r.json()["total"] == 2

    async def test_bad_files_and_rows(self, stack):
        tenant_id = await new_tenant(stack)
        admin = await user_headers(stack, tenant_id, "admin")
        r = await upload(stack, admin, b"\x89PNG\r\n\x1a\n\x00\x00")
        assert r.status_code == 400 and r.json()["error"]["message"].startswith("file")
        bad = b"codigo;titulo;preco\nA1;Casa;100\nA2;Casa;caro\n"
        r = await upload(stack, admin, bad)
        assert r.status_code == 200 and not r.json()["applied"]
        assert [(row["line"], row["outcome"]) for row in r.json()["rows"]] == [
            (2, "skipped"),
            (3, "rejected"),
        ]
        assert (await stack.http.get("/api/v1/products", headers=admin)).json()["total"] == 0
        r = await upload(stack, admin, bad, partial=True)
        assert r.json()["applied"] and r.json()["created"] == 1
        r = await upload(stack, admin, b"codigo;titulo\n" + b"x" * (5 * 1024 * 1024))
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"

    async def test_other_tenant_is_404(self, stack):
        owner, other = await new_tenant(stack), await new_tenant(stack)
        admin = await user_headers(stack, owner, "admin")
        product = (
            await stack.http.post("/api/v1/products", json={"code": "Z-1", "title": "Casa"}, headers=admin)
        ).json()
        for role in ("admin", "seller", "viewer"):
            headers = await user_headers(stack, other, role)
            assert (
                await stack.http.get(f"/api/v1/products/{product['id']}", headers=headers)
            ).status_code == 404
        other_admin = await user_headers(stack, other, "admin")
        r = await stack.http.patch(
            f"/api/v1/products/{product['id']}", json={"title": "x"}, headers=other_admin
        )
        assert r.status_code == 404
        r = await stack.http.get("/api/v1/products", params={"tenant_id": owner}, headers=other_admin)
        assert r.status_code == 404
        r = await stack.http.get(
            "/api/v1/products", params={"tenant_id": owner}, headers=await superadmin(stack)
        )
        assert [p["code"] for p in r.json()["items"]] == ["Z-1"]
