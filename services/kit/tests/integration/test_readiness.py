"""A service whose database is down starts NOT_SERVING and recovers by itself when it comes back."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path

import asyncpg
import grpc
import pytest

import tenant
from kit import config, db, migrate, rpc
from kit.config import CommonSettings
from kit.dbadmin import asyncpg_dsn, bootstrap
from kit.pgcluster import LocalCluster
from kit.service import migrations_dir
from kit.testing import settings_for_tests
from tenant.config import Settings
from tenant.server import build


async def wait_for(channel: grpc.aio.Channel, status: str, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if await rpc.check_health(channel) == status:
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise AssertionError(f"health did not become {status} within {timeout}s")


@pytest.fixture
def cluster():
    # Not under pytest's tmp_path: a second pytest session resets those parents to 0700,
    # and the postgres OS user (we run as root) must be able to reach the data directory.
    workdir = Path(tempfile.mkdtemp(prefix="vellarys-pg-"))
    cluster = LocalCluster(workdir / "pg", throwaway=True)
    yield cluster
    if cluster.running():
        cluster.stop()
    shutil.rmtree(workdir, ignore_errors=True)


async def test_not_serving_until_database_answers(cluster: LocalCluster):
    server_url = cluster.start()
    conn = await asyncpg.connect(asyncpg_dsn(server_url))
    await conn.execute("CREATE DATABASE app")
    await conn.close()
    admin_url = server_url.rsplit("/", 1)[0] + "/app"
    common = settings_for_tests(CommonSettings, admin_url)
    await bootstrap(common)
    url = config.service_database_url(common, "tenant")
    migrate.upgrade(migrations_dir(tenant.__file__), url, "tenant")
    cluster.stop()

    engine = db.create_engine(url, pool_size=1, max_overflow=0, application_name="t")
    server = build(settings_for_tests(Settings, admin_url), engine, port=0)
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            # Down from the start: it must not claim to serve.
            await asyncio.sleep(1.0)
            assert await rpc.check_health(channel) == "NOT_SERVING"
            # ...yet alive: liveness probes must not restart it for its database's sake.
            assert await rpc.check_health(channel, rpc.LIVENESS) == "SERVING"
            await asyncio.to_thread(cluster.start)
            await wait_for(channel, "SERVING", timeout=15)
            await asyncio.to_thread(cluster.stop)
            await wait_for(channel, "NOT_SERVING", timeout=15)
            await asyncio.to_thread(cluster.start)
            await wait_for(channel, "SERVING", timeout=15)
    finally:
        await server.stop(0)
        await engine.dispose()
