"""Catalog REST through the gateway and the real tenant gRPC server: CRUD, import, search, match."""

from __future__ import annotations

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
        tenant_id = await stack.new_tenant()
        admin = await stack.user_headers(tenant_id, "admin")
        r = await upload(stack, admin, CSV.encode("cp1252"))
        assert r.status_code == 200, r.text
        assert (r.json()["applied"], r.json()["created"], r.json()["encoding"]) == (True, 2, "cp1252")
        seller = await stack.user_headers(tenant_id, "seller")
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
        viewer = await stack.user_headers(tenant_id, "viewer")
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
        tenant_id = await stack.new_tenant()
        admin = await stack.user_headers(tenant_id, "admin")
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
        owner, other = await stack.new_tenant(), await stack.new_tenant()
        admin = await stack.user_headers(owner, "admin")
        product = (
            await stack.http.post("/api/v1/products", json={"code": "Z-1", "title": "Casa"}, headers=admin)
        ).json()
        for role in ("admin", "seller", "viewer"):
            headers = await stack.user_headers(other, role)
            assert (
                await stack.http.get(f"/api/v1/products/{product['id']}", headers=headers)
            ).status_code == 404
        other_admin = await stack.user_headers(other, "admin")
        r = await stack.http.patch(
            f"/api/v1/products/{product['id']}", json={"title": "x"}, headers=other_admin
        )
        assert r.status_code == 404
        r = await stack.http.get("/api/v1/products", params={"tenant_id": owner}, headers=other_admin)
        assert r.status_code == 404
        r = await stack.http.get(
            "/api/v1/products", params={"tenant_id": owner}, headers=await stack.superadmin()
        )
        assert [p["code"] for p in r.json()["items"]] == ["Z-1"]
