"""Every RPC is counted by service, method and status code, and scraped from a separate port."""

from __future__ import annotations

import uuid

import grpc
import httpx
import pytest
from prometheus_client import REGISTRY

import tenant
from kit import db, metrics, rpc
from kit.ports import free_port
from kit.testing import settings_for_tests
from tenant.config import Settings
from tenant.server import build
from vellarys.tenant.v1 import tenant_pb2 as pb
from vellarys.tenant.v1 import tenant_pb2_grpc as pb_grpc

SERVICE = "vellarys.tenant.v1.TenantService"


def handled(method: str, code: str) -> float:
    labels = {"service": SERVICE, "method": method, "code": code}
    return REGISTRY.get_sample_value("vellarys_grpc_server_handled_total", labels) or 0.0


async def test_rpcs_are_counted_by_status_and_scraped(migrated, database_url):
    url = migrated("tenant", tenant.__file__)
    engine = db.create_engine(url, pool_size=1, max_overflow=0, application_name="t")
    metrics.watch_pool("tenant-test", engine)
    server = build(settings_for_tests(Settings, database_url), engine, port=0)
    await server.start()
    before_missing = handled("GetTenant", "NOT_FOUND")
    before_invalid = handled("GetTenant", "INVALID_ARGUMENT")
    try:
        channel = rpc.make_channel(f"127.0.0.1:{server.port}")
        stub = pb_grpc.TenantServiceStub(channel)
        for request in (pb.GetTenantRequest(tenant_id=str(uuid.uuid4())), pb.GetTenantRequest(tenant_id="x")):
            with pytest.raises(grpc.aio.AioRpcError):
                await stub.GetTenant(request, metadata=(("x-vellarys-role", "superadmin"),))
        await channel.close()
    finally:
        await server.stop(0)
    assert handled("GetTenant", "NOT_FOUND") == before_missing + 1
    assert handled("GetTenant", "INVALID_ARGUMENT") == before_invalid + 1

    port = free_port()
    metrics.serve(port)
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    assert (
        f'vellarys_grpc_server_handled_total{{code="NOT_FOUND",method="GetTenant",service="{SERVICE}"}}'
        in text
    )
    assert 'vellarys_db_pool_size{service="tenant-test"} 1.0' in text
    assert "process_resident_memory_bytes" in text
    await engine.dispose()
