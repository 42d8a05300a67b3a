"""Pytest fixtures for a real Postgres (loaded with ``-p kit.testing``).

Where the database comes from, in order: ``DATABASE_URL`` (a fresh throwaway database is created in
that server and dropped afterwards), a testcontainers Postgres when a Docker engine answers, else a
throwaway local cluster started from the machine's PostgreSQL binaries on a free port.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from sqlalchemy.engine import make_url

from kit import config, dbadmin, migrate, telemetry
from kit.config import CommonSettings
from kit.ports import free_port
from kit.service import migrations_dir

log = logging.getLogger(__name__)
_REDIS_PREFIX = f"vellarys-test-{secrets.token_hex(4)}:"
TEST_SECRET_KEY = "vellarys-test-secret-" + "a1b2c3d4e5f6g7h8i9j0"


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
    except Exception:
        return False
    return True


def _start_server(stack: ExitStack, workdir: Path) -> str:
    if _docker_answers():
        from testcontainers.postgres import PostgresContainer

        container = stack.enter_context(PostgresContainer("postgres:15-alpine", driver="asyncpg"))
        return str(container.get_connection_url())
    from kit.pgcluster import LocalCluster

    cluster = LocalCluster(workdir / "pg", throwaway=True)
    url = cluster.start()
    stack.callback(shutil.rmtree, workdir, True)
    stack.callback(cluster.stop)
    return url


async def _admin(url: str, statement: str) -> None:
    conn = await asyncpg.connect(dbadmin.asyncpg_dsn(url), timeout=10)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a Postgres server the tests may create databases in."""
    with ExitStack() as stack:
        given = os.environ.get("DATABASE_URL")
        # Not under pytest's tmp_path: another pytest session resets those parents to 0700, and
        # the postgres OS user (when we run as root) must be able to reach the data directory.
        yield (
            config.normalise_database_url(given)
            if given
            else _start_server(stack, Path(tempfile.mkdtemp(prefix="vellarys-test-pg-")))
        )


@pytest.fixture(scope="session")
def database_url(postgres_server: str) -> Iterator[str]:
    """A fresh database, bootstrapped (roles and schemas for every service), dropped at the end."""
    name = f"vellarys_test_{secrets.token_hex(4)}"
    asyncio.run(_admin(postgres_server, f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    asyncio.run(dbadmin.bootstrap(settings_for_tests(CommonSettings, url)))
    yield url
    asyncio.run(_admin(postgres_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def settings_for_tests(cls: type[config.S], database_url: str, **values: Any) -> config.S:
    """Settings for tests: explicit values, never the developer's environment."""
    return cls(
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        environment="test",
        redis_url=os.environ.get("REDIS_URL") or None,
        # A keyspace of this test session's own: a shared Redis keeps keys between runs.
        redis_prefix=values.pop("redis_prefix", _REDIS_PREFIX),
        **values,
    )


@pytest.fixture(scope="session")
def migrated(database_url: str) -> Callable[[str, str], str]:
    """``migrated("tenant", tenant.__file__)`` migrates that schema once and returns its role URL."""
    done: dict[str, str] = {}
    settings = settings_for_tests(CommonSettings, database_url)

    def _migrate(service: str, package_file: str) -> str:
        if service not in done:
            url = config.service_database_url(settings, service)
            migrate.upgrade(migrations_dir(package_file), url, service)
            done[service] = url
        return done[service]

    return _migrate


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str | None]:
    """``REDIS_URL``, else a throwaway redis-server on a free port when the binary exists, else None
    (the product runs without Redis; tests of the shared mode then skip, saying why)."""
    given = os.environ.get("REDIS_URL")
    binary = shutil.which("redis-server")
    if given or not binary:
        yield given or None
        return
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_port(port, proc)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def require_redis(redis_url: str | None) -> str:
    if not redis_url:
        pytest.skip("no REDIS_URL and no redis-server binary: shared (multi-replica) mode not testable")
    return redis_url


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with {proc.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"redis-server did not listen on {port} within {timeout}s")


_exporter: InMemorySpanExporter | None = None


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Every span finished during the test, from every in-process server and client."""
    global _exporter
    if _exporter is None:
        _exporter = InMemorySpanExporter()
        telemetry.configure("tests", processor=SimpleSpanProcessor(_exporter), sampler=ALWAYS_ON)
    _exporter.clear()
    yield _exporter
    _exporter.clear()
