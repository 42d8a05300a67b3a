"""Metadata claims (tenant, role) are only believed from callers holding SECRET_KEY."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import tenant
from kit import db, rpc
from kit.testing import TEST_SECRET_KEY, settings_for_tests
from tenant.config import Settings
from tenant.server import build
from vellarys.tenant.v1 import tenant_pb2 as pb
from vellarys.tenant.v1 import tenant_pb2_grpc as pb_grpc


@pytest.fixture
async def server(migrated, database_url):
    url = migrated("tenant", tenant.__file__)
    engine = db.create_engine(url, pool_size=1, max_overflow=0, application_name="t")
    built = build(settings_for_tests(Settings, database_url), engine, port=0)
    await built.start()
    rpc.configure_internal_auth(TEST_SECRET_KEY)
    yield built
    rpc.configure_internal_auth(None)
    await built.stop(0)
    await engine.dispose()


async def test_a_forged_superadmin_without_the_service_key_is_refused(server):
    forged = (("x-vellarys-role", "superadmin"),)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as raw:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await pb_grpc.TenantServiceStub(raw).ListNiches(pb.ListNichesRequest(), metadata=forged)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        wrong = (*forged, ("x-vellarys-internal", "guess"))
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await pb_grpc.TenantServiceStub(raw).ListNiches(pb.ListNichesRequest(), metadata=wrong)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        # Probes carry no credentials and must still be answered.
        reply = await health_pb2_grpc.HealthStub(raw).Check(health_pb2.HealthCheckRequest(service="liveness"))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_our_channels_carry_the_key(server):
    channel = rpc.make_channel(f"127.0.0.1:{server.port}")
    reply = await pb_grpc.TenantServiceStub(channel).ListNiches(pb.ListNichesRequest())
    assert {n.id for n in reply.niches} >= {1, 2}
    await channel.close()
