"""`make run`'s orchestrator, for real: subprocesses, ports, signals."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from kit.ports import free_port
from kit.testing import TEST_SECRET_KEY

ROOT = Path(__file__).resolve().parent.parent
SUPERADMIN = {"email": "root@vellarys.test", "password": "correct-horse-battery-staple-42"}


def stack_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPERADMIN_", "ZAPI_"))}
    ports = {name: free_port() for name in ("gateway", "tenant", "conversation", "ai", "notify")}
    env.update(
        VELLARYS_DATA_DIR=str(data_dir),
        SECRET_KEY=TEST_SECRET_KEY,
        ENVIRONMENT="development",
        SUPERADMIN_EMAIL=SUPERADMIN["email"],
        SUPERADMIN_PASSWORD=SUPERADMIN["password"],
        GRPC_GRACE_SECONDS="3",
        # The services' default metrics ports may be taken on a shared machine.
        METRICS_PORT="0",
        **{f"{n.upper()}_PORT": str(p) for n, p in ports.items()},
        **{f"{n.upper()}_ADDR": f"127.0.0.1:{p}" for n, p in ports.items() if n != "gateway"},
    )
    env.update(extra)
    return env


@pytest.fixture
def data_dir():
    path = Path(tempfile.mkdtemp(prefix="vellarys-stack-"))
    yield path
    subprocess.run(
        [sys.executable, "-m", "kit.pgcluster", "stop", "--data-dir", str(path / "pg")], check=False
    )
    shutil.rmtree(path, ignore_errors=True)


def wait_healthy(base: str, proc: subprocess.Popen[str], timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"the stack exited early ({proc.returncode}):\n{output[-4000:]}")
        try:
            response = httpx.get(f"{base}/api/health/detailed", timeout=2)
            last = response.json()
            if response.status_code == 200 and last["status"] == "ok":
                return last
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"stack not healthy within {timeout}s: {last}")


@pytest.fixture
def fresh_database(postgres_server):
    """A database of its own: `make run` on an empty database, as on a new machine."""
    import asyncio

    import asyncpg
    from sqlalchemy.engine import make_url

    from kit.dbadmin import asyncpg_dsn

    name = f"vellarys_e2e_{os.getpid()}_{int(time.time())}"

    async def admin(statement: str) -> None:
        conn = await asyncpg.connect(asyncpg_dsn(postgres_server))
        await conn.execute(statement)
        await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    yield make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_run_serves_then_stops_cleanly_on_sigterm(fresh_database, data_dir):
    env = stack_env(data_dir, DATABASE_URL=fresh_database)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kit.stack", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{env['GATEWAY_PORT']}"
    try:
        health = wait_healthy(base, proc)
        assert {"database", "tenant", "conversation", "ai", "notify"} <= set(health["checks"])
        assert httpx.get(f"{base}/api/health").json()["status"] == "ok"
        assert httpx.get(f"{base}/docs").status_code == 200
        login = httpx.post(f"{base}/api/v1/auth/login", json=SUPERADMIN)
        if login.status_code != 404:  # the auth routes exist: the runbook's onboarding call works
            assert login.status_code == 200, login.text
            token = login.json()["access_token"]
            created = httpx.post(
                f"{base}/api/v1/admin/tenants",
                json={"name": "Imobiliária XYZ", "slug": "imobiliaria-xyz", "niche_id": 1},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert created.status_code == 201, created.text
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output[-3000:]
    for name in ("tenant", "conversation", "ai", "notify", "gateway"):
        assert f"{name} " in output and "|" in output
    assert f"gateway      {base}" in output
    assert "Traceback" not in output, output[-3000:]


def test_without_database_url_starts_its_own_postgres_and_keeps_data(data_dir):
    env = stack_env(data_dir)
    env.pop("DATABASE_URL", None)
    first = subprocess.run(
        [sys.executable, "-m", "kit.stack", "migrate"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert first.returncode == 0, first.stdout + first.stderr
    assert "starting the local Postgres" in first.stdout
    assert (data_dir / "pg" / "PG_VERSION").exists()
    port = (data_dir / "pg" / "vellarys-port").read_text().strip()
    assert port != "5432"
    second = subprocess.run(
        [sys.executable, "-m", "kit.stack", "migrate"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert "already exists" in second.stdout + second.stderr  # the superadmin seeded the first time


def test_production_refuses_a_weak_secret_key(data_dir):
    env = stack_env(data_dir, ENVIRONMENT="production", SECRET_KEY="changeme")
    result = subprocess.run(
        [sys.executable, "-m", "kit.stack", "run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "SECRET_KEY is too short" in result.stderr
    assert not (data_dir / "pg").exists(), "nothing may start before the configuration is accepted"
