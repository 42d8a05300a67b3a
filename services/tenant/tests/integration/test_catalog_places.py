"""ListCatalogPlaces: the distinct neighbourhoods and cities of a tenant's available products."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import grpc
import pytest

import tenant
from kit import db, rpc
from kit.context import CallContext
from kit.testing import settings_for_tests
from tenant.config import Settings
from tenant.server import build
from vellarys.tenant.v1 import tenant_pb2 as pb
from vellarys.tenant.v1 import tenant_pb2_grpc as pb_grpc

SUPER = CallContext(tenant_id=str(uuid.uuid4()), actor_id=str(uuid.uuid4()), role="superadmin").metadata()


@pytest.fixture(scope="module")
async def stub(migrated, database_url) -> AsyncIterator[pb_grpc.TenantServiceStub]:
    url = migrated("tenant", tenant.__file__)
    settings = settings_for_tests(Settings, database_url, tenants_hard_limit=1000)
    engine = db.create_engine(url, pool_size=2, max_overflow=2, application_name="test-places")
    server = build(settings, engine, port=0)
    await server.start()
    channel = rpc.make_channel(f"127.0.0.1:{server.port}")
    yield pb_grpc.TenantServiceStub(channel)
    await channel.close()
    await server.stop(0)
    await engine.dispose()


def as_role(tenant_id: str, role: str = "admin") -> tuple[tuple[str, str], ...]:
    return CallContext(tenant_id=tenant_id, actor_id=str(uuid.uuid4()), role=role).metadata()


async def new_tenant(stub: pb_grpc.TenantServiceStub, *places: tuple[str, str, int]) -> str:
    """A tenant with one product per (neighbourhood, city, status)."""
    request = pb.CreateTenantRequest(name="Imob", slug=f"p-{uuid.uuid4().hex[:10]}", niche_id=1)
    tid = (await stub.CreateTenant(request, metadata=SUPER)).tenant.id
    for index, (neighbourhood, city, status) in enumerate(places):
        product = pb.ProductInput(
            code=f"P-{index}", title="Imóvel", neighbourhood=neighbourhood, city=city, status=status
        )
        await stub.CreateProduct(
            pb.CreateProductRequest(tenant_id=tid, product=product), metadata=as_role(tid)
        )
    return tid


AVAILABLE, SOLD = pb.PRODUCT_STATUS_AVAILABLE, pb.PRODUCT_STATUS_SOLD


async def test_distinct_places_of_available_products(stub):
    tid = await new_tenant(
        stub,
        ("Batel", "Curitiba", AVAILABLE),
        ("Água Verde", "Curitiba", AVAILABLE),
        ("agua verde", "curitiba", AVAILABLE),
        ("Centro", "São José dos Pinhais", AVAILABLE),
        ("Ecoville", "Curitiba", SOLD),
        ("", "", AVAILABLE),
    )
    await new_tenant(stub, ("Copacabana", "Rio de Janeiro", AVAILABLE))
    reply = await stub.ListCatalogPlaces(
        pb.ListCatalogPlacesRequest(tenant_id=tid), metadata=as_role(tid, "service")
    )
    assert list(reply.neighbourhoods) == ["Água Verde", "Batel", "Centro"]
    assert list(reply.cities) == ["Curitiba", "São José dos Pinhais"]


async def test_another_tenant_is_not_found(stub):
    mine, theirs = await new_tenant(stub), await new_tenant(stub, ("Batel", "Curitiba", AVAILABLE))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ListCatalogPlaces(
            pb.ListCatalogPlacesRequest(tenant_id=theirs), metadata=as_role(mine, "service")
        )
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_tenant_without_products_has_no_places(stub):
    tid = await new_tenant(stub)
    reply = await stub.ListCatalogPlaces(pb.ListCatalogPlacesRequest(), metadata=as_role(tid, "viewer"))
    assert (list(reply.neighbourhoods), list(reply.cities)) == ([], [])
