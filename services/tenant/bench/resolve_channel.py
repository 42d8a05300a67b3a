"""ResolveChannel throughput and server CPU per call (not part of the test suite).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python services/tenant/bench/resolve_channel.py [calls] [concurrency]

Creates a throwaway database on that server, bootstraps and migrates the tenant schema, creates 20
tenants with 200 channels (Meta with app_secret/verify_token, 360dialog with webhook_secret, Z-API)
through the real RPCs, then makes `calls` ResolveChannel calls (default 2,000; half by webhook token,
half by external id) with `concurrency` in flight (default 16) against the real gRPC server running
in a child process. Prints calls/s and the server process's CPU time per call (user + system, read
from /proc), which is what webhook load costs the tenant service; then the same number of calls to
the servicer method alone (no gRPC, no interceptors), one at a time, with their latency and CPU.
The database is dropped at the end.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import secrets
import sys
import time
import uuid
from multiprocessing.connection import Connection
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

import tenant
from kit import config, db, dbadmin, migrate, rpc
from kit.context import CallContext
from kit.service import migrations_dir
from tenant.config import Settings
from tenant.server import TenantServicer, build
from vellarys.tenant.v1 import tenant_pb2 as pb
from vellarys.tenant.v1 import tenant_pb2_grpc as pb_grpc

TENANTS, CHANNELS = 20, 200
SECRET_KEY = "bench-" + "k" * 40
SUPER = CallContext(tenant_id=str(uuid.uuid4()), actor_id=str(uuid.uuid4()), role="superadmin").metadata()


def admin_url() -> str:
    return config.normalise_database_url(
        os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )


async def admin(url: str, statement: str) -> None:
    conn = await asyncpg.connect(dbadmin.asyncpg_dsn(url))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def serve(url: str, role_url: str, pipe: Connection) -> None:
    """The child process: the tenant gRPC server, as `python -m tenant` would run it."""

    async def run() -> None:
        settings = Settings(
            database_url=url,
            secret_key=SECRET_KEY,
            environment="test",
            tenants_soft_limit=100,
            tenants_hard_limit=100,
        )
        engine = db.create_engine(role_url, pool_size=5, max_overflow=0, application_name="bench-tenant")
        server = build(settings, engine, port=0)
        await server.start()
        pipe.send(server.port)
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)  # until the parent says stop
        await server.stop(0)
        await engine.dispose()

    asyncio.run(run())


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def admin_md(tenant_id: str) -> tuple[tuple[str, str], ...]:
    return CallContext(tenant_id=tenant_id, actor_id=str(uuid.uuid4()), role="admin").metadata()


async def populate(stub: pb_grpc.TenantServiceStub) -> list[pb.ResolveChannelRequest]:
    requests: list[pb.ResolveChannelRequest] = []
    kinds = [
        (pb.PROVIDER_META, {"access_token": "EAAG" + "x" * 40, "app_secret": "app-secret-" + "y" * 20}),
        (pb.PROVIDER_DIALOG360, {"api_key": "d360-key-" + "z" * 20, "webhook_secret": "whs-" + "w" * 20}),
        (pb.PROVIDER_ZAPI, {"token": "zapi-token-" + "t" * 20, "client_token": "client-" + "c" * 20}),
    ]
    for t in range(TENANTS):
        created = await stub.CreateTenant(
            pb.CreateTenantRequest(name=f"Bench {t}", slug=f"bench-{t}-{secrets.token_hex(3)}", niche_id=1),
            metadata=SUPER,
        )
        tenant_id = created.tenant.id
        for c in range(CHANNELS // TENANTS):
            provider, channel_secrets = kinds[(t * 10 + c) % len(kinds)]
            channel = (
                await stub.CreateChannel(
                    pb.CreateChannelRequest(
                        provider=provider,
                        name=f"ch {c}",
                        external_id=f"ext-{t}-{c}-{secrets.token_hex(4)}",
                        secrets=channel_secrets,
                    ),
                    metadata=admin_md(tenant_id),
                )
            ).channel
            token = channel.webhook_path.rsplit("/", 1)[1]
            requests.append(pb.ResolveChannelRequest(provider=provider, webhook_token=token))
            requests.append(pb.ResolveChannelRequest(provider=provider, external_id=channel.external_id))
    return requests


async def measure(
    stub: pb_grpc.TenantServiceStub,
    requests: list[pb.ResolveChannelRequest],
    pid: int,
    calls: int,
    width: int,
) -> None:
    for request in requests[:50]:  # warm the pool, the statement caches and the channel
        await stub.ResolveChannel(request)
    queue = iter(range(calls))
    service = CallContext(role="service").metadata()

    async def worker() -> None:
        for i in queue:
            reply = await stub.ResolveChannel(requests[i % len(requests)], metadata=service)
            assert reply.channel.id

    cpu_before, started = cpu_seconds(pid), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(width)))
    elapsed, cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu_before
    print(f"{calls} ResolveChannel calls, {width} in flight, {len(requests) // 2} channels")
    print(f"  wall       {elapsed:7.2f} s   {calls / elapsed:8.0f} calls/s")
    print(
        f"  server CPU {cpu:7.2f} s   {cpu / calls * 1e6:8.0f} us/call"
        f"   ({calls / cpu:.0f} calls per CPU-second)"
    )


async def measure_handler(
    url: str, role_url: str, requests: list[pb.ResolveChannelRequest], calls: int
) -> None:
    """The servicer method alone, awaited in this process one call at a time (no gRPC, no interceptors)."""
    settings = Settings(database_url=url, secret_key=SECRET_KEY, environment="test")
    engine = db.create_engine(role_url, pool_size=1, max_overflow=0, application_name="bench-handler")
    servicer = TenantServicer(db.session_factory(engine), settings)
    context: Any = None
    try:
        for request in requests[:50]:
            await servicer.ResolveChannel(request, context)
        cpu_before, started = time.process_time(), time.perf_counter()
        for i in range(calls):
            await servicer.ResolveChannel(requests[i % len(requests)], context)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_before
    finally:
        await engine.dispose()
    print(f"{calls} direct handler calls, one at a time (no gRPC)")
    print(f"  latency    {elapsed / calls * 1e6:8.0f} us/call   handler CPU {cpu / calls * 1e6:8.0f} us/call")


async def main(calls: int, width: int) -> int:
    server_url = admin_url()
    name = f"vellarys_bench_{secrets.token_hex(4)}"
    await admin(server_url, f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    child: multiprocessing.process.BaseProcess | None = None
    parent_end: Connection | None = None
    try:
        settings = Settings(database_url=url, secret_key=SECRET_KEY, environment="test")
        await dbadmin.bootstrap(settings, ("tenant",))
        role_url = config.service_database_url(settings, "tenant")
        migrate.upgrade(migrations_dir(tenant.__file__), role_url, "tenant")
        spawn = multiprocessing.get_context("spawn")
        parent_end, child_end = spawn.Pipe()
        child = spawn.Process(target=serve, args=(url, role_url, child_end), daemon=True)
        child.start()
        port = await asyncio.get_running_loop().run_in_executor(None, parent_end.recv)
        channel = rpc.make_channel(f"127.0.0.1:{port}", deadline=10)
        try:
            stub = pb_grpc.TenantServiceStub(channel)
            requests = await populate(stub)
            assert child.pid is not None
            await measure(stub, requests, child.pid, calls, width)
            await measure_handler(url, role_url, requests, calls)
        finally:
            await channel.close()
    finally:
        if child is not None and parent_end is not None:
            parent_end.send("stop")
            child.join(10)
        await admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    sys.exit(asyncio.run(main(*(args + [2000, 16][len(args) :]))))
