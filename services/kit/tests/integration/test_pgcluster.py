from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

import kit
from kit.pgcluster import PORT_FILE, SYSTEM_PORT, LocalCluster, find_bindir

try:
    find_bindir()
except RuntimeError as exc:  # pragma: no cover - depends on the machine
    pytest.skip(f"no PostgreSQL server binaries: {exc}", allow_module_level=True)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Our own temp dir rather than tmp_path: as root the launcher may grant o+x on the parents,
    # and this way that change disappears with the directory.
    base = Path(tempfile.mkdtemp(prefix="vellarys-pgtest-"))
    data = base / "data"
    try:
        yield data
    finally:
        try:
            LocalCluster(data).stop()
        finally:
            shutil.rmtree(base, ignore_errors=True)


def dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def postmaster_pid(data: Path) -> int:
    return int((data / "postmaster.pid").read_text().split()[0])


async def fetch(url: str, query: str) -> object:
    conn = await asyncpg.connect(dsn(url), timeout=10)
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


@pytest.mark.asyncio
async def test_data_survives_stop_and_start(data_dir: Path) -> None:
    cluster = LocalCluster(data_dir, throwaway=True)
    url = cluster.start()
    port = cluster.port
    assert port is not None and port != SYSTEM_PORT
    assert url == f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
    assert await fetch(url, "SHOW fsync") == "off"
    conn = await asyncpg.connect(dsn(url), timeout=10)
    try:
        await conn.execute("CREATE TABLE notes (id int PRIMARY KEY, body text)")
        await conn.execute("INSERT INTO notes VALUES (1, 'kept')")
    finally:
        await conn.close()

    cluster.stop()
    assert not cluster.running()

    persistent = LocalCluster(data_dir)
    try:
        assert persistent.start() == url  # recorded port reused
        assert await fetch(url, "SELECT body FROM notes WHERE id = 1") == "kept"
        assert await fetch(url, "SHOW fsync") == "on"
        assert await fetch(url, "SHOW max_connections") == "200"
    finally:
        persistent.stop()


def test_second_start_reuses_running_server(data_dir: Path) -> None:
    with LocalCluster(data_dir, throwaway=True) as first:
        pid = postmaster_pid(data_dir)
        assert first.running()
        assert LocalCluster(data_dir, throwaway=True).start() == first.url
        assert postmaster_pid(data_dir) == pid
        with pytest.raises(RuntimeError, match="already runs on port"):
            LocalCluster(data_dir, port=(first.port or 0) + 1).start()
    assert not first.running()


def test_taken_recorded_port_is_replaced(data_dir: Path) -> None:
    cluster = LocalCluster(data_dir, throwaway=True)
    cluster.start()
    old_port = cluster.port
    assert old_port is not None
    cluster.stop()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", old_port))
        squatter.listen()
        try:
            cluster.start()
            assert cluster.port not in (old_port, SYSTEM_PORT)
            assert (data_dir / PORT_FILE).read_text().strip() == str(cluster.port)
        finally:
            cluster.stop()


def test_cli_start_url_stop(data_dir: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(kit.__path__[0]).parent)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "kit.pgcluster", *args, "--data-dir", str(data_dir)]
        # A postmaster inheriting our stdout pipe would make this hang: the timeout catches it.
        return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)

    started = cli("start", "--throwaway")
    assert started.returncode == 0, started.stderr
    url = started.stdout.strip()
    assert url.startswith("postgresql+asyncpg://postgres@127.0.0.1:")
    assert cli("url").stdout.strip() == url
    assert cli("stop").returncode == 0
    stopped = cli("url")
    assert stopped.returncode == 1
    assert "no PostgreSQL is running" in stopped.stderr


def test_missing_binaries_are_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PG_BIN", str(tmp_path))
    with pytest.raises(RuntimeError, match=r"PG_BIN=.* lacks initdb, pg_ctl, postgres"):
        find_bindir()
