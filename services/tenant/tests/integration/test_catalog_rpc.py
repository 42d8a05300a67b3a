"""Products: CRUD, CSV import (formats, all-or-nothing, 10,000 rows), search and trigger matching."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest

import tenant
from kit import db, rpc
from kit.catalog_terms import code_candidates, phrases
from kit.context import CallContext
from kit.testing import settings_for_tests
from tenant import repository_catalog
from tenant.config import Settings
from tenant.server import build
from vellarys.tenant.v1 import tenant_pb2 as pb
from vellarys.tenant.v1 import tenant_pb2_grpc as pb_grpc

SUPER = CallContext(tenant_id=str(uuid.uuid4()), actor_id=str(uuid.uuid4()), role="superadmin").metadata()
HEADER = (
    "Código;Título;Tipo;Finalidade;Preço;Condomínio;Área;Quartos;Suítes;Vagas;Bairro;Cidade;Palavras-chave\n"
)


@pytest.fixture(scope="module")
async def stub(migrated, database_url) -> AsyncIterator[pb_grpc.TenantServiceStub]:
    url = migrated("tenant", tenant.__file__)
    settings = settings_for_tests(Settings, database_url, tenants_hard_limit=1000)
    engine = db.create_engine(url, pool_size=3, max_overflow=2, application_name="test-catalog")
    server = build(settings, engine, port=0)
    await server.start()
    channel = rpc.make_channel(f"127.0.0.1:{server.port}", deadline=60)
    yield pb_grpc.TenantServiceStub(channel)
    await channel.close()
    await server.stop(0)
    await engine.dispose()


def as_role(tenant_id: str, role: str = "admin") -> tuple[tuple[str, str], ...]:
    return CallContext(tenant_id=tenant_id, actor_id=str(uuid.uuid4()), role=role).metadata()


async def new_tenant(stub) -> str:
    request = pb.CreateTenantRequest(name="Imob", slug=f"c-{uuid.uuid4().hex[:10]}", niche_id=1)
    return (await stub.CreateTenant(request, metadata=SUPER)).tenant.id


async def expect(code: grpc.StatusCode, call) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    assert err.value.code() == code, err.value.details()
    return err.value.details() or ""


async def import_csv(stub, tenant_id: str, text: str, encoding: str = "utf-8", partial: bool = False):
    request = pb.ImportProductsRequest(content=text.encode(encoding), partial=partial)
    return await stub.ImportProducts(request, metadata=as_role(tenant_id))


async def load_catalog(stub, tenant_id: str) -> None:
    rows = [
        "AP-1234;Apartamento 3 quartos com sacada;Apartamento;Venda;R$ 850.000,00;R$ 900;98,5;3;1;2;Batel;Curitiba;",
        "CO-77;Cobertura duplex vista parque;Cobertura;Venda;1,2 mi;1.500;210;4;3;3;Água Verde;Curitiba;cobertura",
        "CA-9;Casa térrea com quintal;Casa;Aluguel;R$ 4.500;;180;3;1;2;Santa Felicidade;Curitiba;casa com quintal",
        "AP-55;Apartamento compacto;Apartamento;Aluguel;2.100;450;42;1;0;1;Centro;Curitiba;studio",
        "AP-60;Apartamento garden no Batel;Apartamento;Venda;990 mil;1.100;120;3;2;2;Batel;Curitiba;garden",
    ]
    reply = await import_csv(stub, tenant_id, HEADER + "\n".join(rows) + "\n", "cp1252")
    assert reply.applied and reply.created == 5, reply


class TestCrud:
    async def test_create_get_update_delete(self, stub):
        tenant_id = await new_tenant(stub)
        md = as_role(tenant_id)
        fields = pb.ProductInput(
            code="AP-1", title="Apto", purpose=pb.PRODUCT_PURPOSE_SALE, price_cents=50_000_000, bedrooms=2,
            trigger_keywords=["Pé-direito duplo"], photo_urls=["https://img/1.jpg"],
        )  # fmt: skip
        created = (await stub.CreateProduct(pb.CreateProductRequest(product=fields), metadata=md)).product
        assert created.fields.price_cents == 50_000_000 and not created.fields.HasField("area_m2")
        assert created.fields.status == pb.PRODUCT_STATUS_AVAILABLE
        await expect(
            grpc.StatusCode.ALREADY_EXISTS,
            stub.CreateProduct(
                pb.CreateProductRequest(product=pb.ProductInput(code="ap 1", title="x")), metadata=md
            ),
        )
        update = pb.UpdateProductRequest(
            product_id=created.id, product=pb.ProductInput(status=pb.PRODUCT_STATUS_SOLD), fields=["status"]
        )
        updated = (await stub.UpdateProduct(update, metadata=md)).product
        assert updated.fields.status == pb.PRODUCT_STATUS_SOLD and updated.fields.title == "Apto"
        viewer = as_role(tenant_id, "viewer")
        got = (await stub.GetProduct(pb.GetProductRequest(product_id=created.id), metadata=viewer)).product
        assert got.fields.trigger_keywords == ["Pé-direito duplo"]
        await expect(grpc.StatusCode.PERMISSION_DENIED, stub.UpdateProduct(update, metadata=viewer))
        await stub.DeleteProduct(pb.DeleteProductRequest(product_id=created.id), metadata=md)
        await expect(
            grpc.StatusCode.NOT_FOUND,
            stub.GetProduct(pb.GetProductRequest(product_id=created.id), metadata=md),
        )

    async def test_validation_names_the_field(self, stub):
        md = as_role(await new_tenant(stub))
        bad = pb.ProductInput(code="", title="x", bedrooms=-1, listing_url="ftp://x")
        details = await expect(
            grpc.StatusCode.INVALID_ARGUMENT,
            stub.CreateProduct(pb.CreateProductRequest(product=bad), metadata=md),
        )
        assert "code" in details and "bedrooms" in details and "URLs" in details

    async def test_other_tenant_is_not_found(self, stub):
        owner, other = await new_tenant(stub), await new_tenant(stub)
        product = pb.ProductInput(code="X-1", title="Casa")
        created = (
            await stub.CreateProduct(pb.CreateProductRequest(product=product), metadata=as_role(owner))
        ).product
        for role in ("admin", "seller"):
            await expect(
                grpc.StatusCode.NOT_FOUND,
                stub.GetProduct(pb.GetProductRequest(product_id=created.id), metadata=as_role(other, role)),
            )
        await expect(
            grpc.StatusCode.NOT_FOUND,
            stub.DeleteProduct(pb.DeleteProductRequest(product_id=created.id), metadata=as_role(other)),
        )
        await expect(
            grpc.StatusCode.NOT_FOUND,
            stub.ListProducts(pb.ListProductsRequest(tenant_id=owner), metadata=as_role(other)),
        )
        listed = await stub.ListProducts(pb.ListProductsRequest(tenant_id=owner), metadata=SUPER)
        assert [p.fields.code for p in listed.products] == ["X-1"]


class TestImport:
    async def test_latin1_semicolon_decimal_comma_then_upsert(self, stub):
        tenant_id = await new_tenant(stub)
        await load_catalog(stub, tenant_id)
        products = (await stub.ListProducts(pb.ListProductsRequest(), metadata=as_role(tenant_id))).products
        by_code = {p.fields.code: p.fields for p in products}
        assert by_code["AP-1234"].price_cents == 85_000_000 and by_code["AP-1234"].area_m2 == 98.5
        assert by_code["CO-77"].price_cents == 120_000_000 and by_code["CO-77"].neighbourhood == "Água Verde"
        assert by_code["CA-9"].purpose == pb.PRODUCT_PURPOSE_RENT and not by_code["CA-9"].HasField(
            "condo_fee_cents"
        )
        update = (
            '\ufeffcodigo,titulo,valor\nap-1234,Apartamento reformado,"R$ 799.000,00"\nNEW-1,Sala,100 mil\n'
        )
        reply = await import_csv(stub, tenant_id, update)
        assert (reply.created, reply.updated, reply.encoding, reply.delimiter) == (1, 1, "utf-8-sig", ",")
        got = {
            p.fields.code: p.fields
            for p in (await stub.ListProducts(pb.ListProductsRequest(), metadata=as_role(tenant_id))).products
        }
        # Columns the file does not have keep their stored values.
        assert got["AP-1234"].title == "Apartamento reformado" and got["AP-1234"].bedrooms == 3
        assert got["AP-1234"].price_cents == 79_900_000

    async def test_one_bad_row_writes_nothing_unless_partial(self, stub):
        tenant_id = await new_tenant(stub)
        text = "codigo;titulo;preco;finalidade\nA1;Casa;100 mil;venda\nA2;Casa;caro;venda\nA1;Dup;1;venda\n"
        reply = await import_csv(stub, tenant_id, text)
        assert not reply.applied and reply.created == 0
        outcomes = [(r.line, r.outcome) for r in reply.rows]
        assert outcomes == [
            (2, pb.IMPORT_OUTCOME_SKIPPED),
            (3, pb.IMPORT_OUTCOME_REJECTED),
            (4, pb.IMPORT_OUTCOME_REJECTED),
        ]
        assert "price_cents" in reply.rows[1].reason and "repeats line 2" in reply.rows[2].reason
        assert (await stub.ListProducts(pb.ListProductsRequest(), metadata=as_role(tenant_id))).total == 0
        reply = await import_csv(stub, tenant_id, text, partial=True)
        assert reply.applied and (reply.created, reply.rejected) == (1, 2)

    @pytest.mark.parametrize(
        "content", [b"\x89PNG\r\n\x1a\n\x00\x00\x00", b"nome;preco\nA;1\n", b"", b"sem separador\nx\n"]
    )
    async def test_broken_file_is_invalid_argument(self, stub, content):
        md = as_role(await new_tenant(stub))
        details = await expect(
            grpc.StatusCode.INVALID_ARGUMENT,
            stub.ImportProducts(pb.ImportProductsRequest(content=content), metadata=md),
        )
        assert details.startswith("file")

    async def test_ten_thousand_rows(self, stub):
        tenant_id = await new_tenant(stub)
        lines = [
            f"IMV-{i};Apartamento {i} no bairro {i % 50};Apartamento;{'Venda' if i % 2 else 'Aluguel'};"
            f"R$ {100 + i}.000,00;R$ 500,00;{50 + i % 100},5;{i % 4 + 1};1;{i % 3};Bairro {i % 50};Curitiba;k{i}"
            for i in range(10_000)
        ]
        started = time.perf_counter()
        reply = await import_csv(stub, tenant_id, HEADER + "\n".join(lines) + "\n", "cp1252")
        first = time.perf_counter() - started
        assert reply.applied and reply.created == 10_000
        started = time.perf_counter()
        reply = await import_csv(stub, tenant_id, HEADER + "\n".join(lines) + "\n", "cp1252")
        again = time.perf_counter() - started
        assert reply.updated == 10_000
        print(f"\n10,000-row import: {first:.2f}s create, {again:.2f}s update")


class TestSearchAndMatch:
    async def test_filters_and_ranking(self, stub):
        tenant_id = await new_tenant(stub)
        await load_catalog(stub, tenant_id)
        md = as_role(tenant_id, "seller")
        search = stub.SearchProducts
        hits = (await search(pb.SearchProductsRequest(text="apartamento batel"), metadata=md)).hits
        assert [h.product.fields.code for h in hits][:2] in (["AP-60", "AP-1234"], ["AP-1234", "AP-60"])
        assert hits[0].score >= hits[-1].score and len(hits) == 3
        hits = (await search(pb.SearchProductsRequest(text="agua verde"), metadata=md)).hits
        assert [h.product.fields.code for h in hits] == ["CO-77"]
        rent = pb.SearchProductsRequest(purpose=pb.PRODUCT_PURPOSE_RENT, min_bedrooms=2)
        assert [h.product.fields.code for h in (await search(rent, metadata=md)).hits] == ["CA-9"]
        priced = pb.SearchProductsRequest(
            min_price_cents=80_000_000, max_price_cents=100_000_000, min_parking_spots=2
        )
        assert {h.product.fields.code for h in (await search(priced, metadata=md)).hits} == {
            "AP-1234",
            "AP-60",
        }
        place = pb.SearchProductsRequest(neighbourhood="agua VERDE", city="curitiba", type="cobertura")
        assert [h.product.fields.code for h in (await search(place, metadata=md)).hits] == ["CO-77"]
        page = await search(pb.SearchProductsRequest(page_size=2), metadata=md)
        assert (len(page.hits), page.total, page.next_page_token) == (2, 5, "2")

    async def test_sold_products_are_hidden_by_default(self, stub):
        tenant_id = await new_tenant(stub)
        await import_csv(stub, tenant_id, "codigo;titulo;status\nV-1;Casa vendida;Vendido\nV-2;Casa livre;\n")
        md = as_role(tenant_id)
        assert [
            h.product.fields.code
            for h in (await stub.SearchProducts(pb.SearchProductsRequest(text="casa"), metadata=md)).hits
        ] == ["V-2"]
        sold = pb.SearchProductsRequest(statuses=[pb.PRODUCT_STATUS_SOLD])
        assert [h.product.fields.code for h in (await stub.SearchProducts(sold, metadata=md)).hits] == ["V-1"]

    async def test_trigger_matching(self, stub):
        tenant_id, other = await new_tenant(stub), await new_tenant(stub)
        await load_catalog(stub, tenant_id)
        await load_catalog(stub, other)
        md = as_role(tenant_id, "viewer")

        async def matched(text: str) -> dict[str, list[str]]:
            reply = await stub.MatchProducts(pb.MatchProductsRequest(text=text), metadata=md)
            assert all(m.product.tenant_id == tenant_id for m in reply.matches)
            return {m.product.fields.code: list(m.matched_by) for m in reply.matches}

        assert await matched("Oi, vi o AP-1234 no Batel, ainda está disponível?") == {"AP-1234": ["code"]}
        assert await matched("vocês têm alguma COBERTURA?") == {"CO-77": ["keyword:cobertura"]}
        assert await matched("procuro Casa com Quintal e um ap1234") == {
            "AP-1234": ["code"], "CA-9": ["keyword:casa com quintal"],
        }  # fmt: skip
        assert await matched("quero 1 quarto, até 3 mil") == {}
        # A withdrawn listing is never offered, by code or by keyword; a sold one still is (its page
        # says so, and the lead asked for it by name).
        await import_csv(
            stub, tenant_id, "codigo;titulo;status;gatilhos\nIN-5;Casa retirada;Inativo;chacara\n"
        )
        await import_csv(stub, tenant_id, "codigo;titulo;status;gatilhos\nSO-6;Casa vendida;Vendido;sitio\n")
        assert await matched("o IN-5 ou uma chacara, e o SO-6?") == {"SO-6": ["code"]}
        assert await matched("tem sitio?") == {"SO-6": ["keyword:sitio"]}

    async def test_trigger_terms_are_what_matching_can_match(self, stub):
        """ListTriggerTerms lists exactly what MatchProducts matches on: a message names a listing
        (MatchProducts finds one) exactly when it contains one of the terms (the ai service's check)."""
        tenant_id, other = await new_tenant(stub), await new_tenant(stub)
        await load_catalog(stub, tenant_id)
        await import_csv(stub, other, "codigo;titulo;gatilhos\nOT-1;Outro;lancamento\n")
        await import_csv(
            stub,
            tenant_id,
            "codigo;titulo;status;gatilhos\n"
            "IN-5;Casa retirada;Inativo;chacara\n"
            "SO-6;Casa vendida;Vendido;Sítio\n"
            "LG-7;Longa;Disponível;casa grande com piscina aquecida\n",
        )
        md = as_role(tenant_id, "service")
        terms = await stub.ListTriggerTerms(pb.ListTriggerTermsRequest(tenant_id=tenant_id), metadata=md)
        assert terms.complete
        assert list(terms.code_keys) == ["AP1234", "AP55", "AP60", "CA9", "CO77", "LG7", "SO6"]
        # The inactive listing's keyword is not there, nor the five-word one (no phrase is that long).
        assert list(terms.keywords) == ["casa com quintal", "cobertura", "garden", "sitio", "studio"]

        def names_one(text: str) -> bool:
            return bool(code_candidates(text) & set(terms.code_keys) or phrases(text) & set(terms.keywords))

        for text in (
            "Oi, vi o AP-1234 no Batel",
            "ap 55 ainda está disponível?",
            "procuro Casa com Quintal",
            "tem SÍTIO?",
            "o IN-5 ou uma chacara?",
            "lancamento OT-1",
            "quero 1 quarto, até 3 mil",
            "uma casa grande com piscina aquecida",
            "",
        ):
            reply = await stub.MatchProducts(pb.MatchProductsRequest(text=text), metadata=md)
            assert names_one(text) == bool(reply.matches), text

    async def test_trigger_terms_past_the_limit_are_incomplete(self, stub, monkeypatch):
        tenant_id = await new_tenant(stub)
        await load_catalog(stub, tenant_id)
        md = as_role(tenant_id, "service")
        request = pb.ListTriggerTermsRequest(tenant_id=tenant_id)
        monkeypatch.setattr(repository_catalog, "TRIGGER_TERMS_MAX", 9)  # 5 codes and 4 keywords
        terms = await stub.ListTriggerTerms(request, metadata=md)
        assert terms.complete and len(terms.code_keys) + len(terms.keywords) == 9
        monkeypatch.setattr(repository_catalog, "TRIGGER_TERMS_MAX", 8)
        terms = await stub.ListTriggerTerms(request, metadata=md)
        assert not terms.complete and not terms.code_keys and not terms.keywords

    async def test_trigger_terms_of_another_tenant_are_not_found(self, stub):
        mine, theirs = await new_tenant(stub), await new_tenant(stub)
        await expect(
            grpc.StatusCode.NOT_FOUND,
            stub.ListTriggerTerms(
                pb.ListTriggerTermsRequest(tenant_id=theirs), metadata=as_role(mine, "service")
            ),
        )
