"""Back up, destroy, restore: counts and sampled rows come back identical."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

import conversation
import tenant
from kit import config, migrate
from kit.config import CommonSettings
from kit.dbadmin import asyncpg_dsn, bootstrap
from kit.service import migrations_dir
from kit.testing import TEST_SECRET_KEY, settings_for_tests

COUNTS = {
    "tenant.tenants": 3,
    "conversation.leads": 40,
    "conversation.conversations": 40,
    "conversation.messages": 160,
}


async def admin(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(asyncpg_dsn(url))


async def fresh_database(server_url: str) -> str:
    name = f"vellarys_backup_{uuid.uuid4().hex[:8]}"
    conn = await admin(server_url)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    settings = settings_for_tests(CommonSettings, url)
    await bootstrap(settings)
    for package in (tenant, conversation):
        service = package.__name__
        migrate.upgrade(
            migrations_dir(package.__file__), config.service_database_url(settings, service), service
        )
    return url


async def fill(url: str) -> None:
    conn = await admin(url)
    try:
        tenants = [uuid.uuid4() for _ in range(3)]
        for i, tid in enumerate(tenants):
            await conn.execute(
                "INSERT INTO tenant.tenants (id, name, slug, niche_id) VALUES ($1, $2, $3, 1)",
                tid,
                f"Imobiliária {i}",
                f"imob-{i}",
            )
        for n in range(40):
            tid, lead, conv = tenants[n % 3], uuid.uuid4(), uuid.uuid4()
            await conn.execute(
                "INSERT INTO conversation.leads (id, tenant_id, phone, name) VALUES ($1, $2, $3, $4)",
                lead,
                tid,
                f"+55419{n:08d}",
                f"Lead {n} Ção",
            )
            await conn.execute(
                "INSERT INTO conversation.conversations (id, tenant_id, lead_id) VALUES ($1, $2, $3)",
                conv,
                tid,
                lead,
            )
            for m in range(4):
                await conn.execute(
                    "INSERT INTO conversation.messages (id, tenant_id, lead_id, conversation_id, direction,"
                    " provider, external_id, kind, text) VALUES ($1, $2, $3, $4, 'inbound', 'zapi', $5, 'text', $6)",
                    uuid.uuid4(),
                    tid,
                    lead,
                    conv,
                    f"wamid.{n}.{m}",
                    f"Olá, mensagem {m} — R$ 850.000,00",
                )
    finally:
        await conn.close()


async def snapshot(url: str) -> dict[str, object]:
    conn = await admin(url)
    try:
        state: dict[str, object] = {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in COUNTS}
        state["leads"] = [
            tuple(r) for r in await conn.fetch("SELECT id, phone, name FROM conversation.leads ORDER BY id")
        ]
        state["messages"] = [
            tuple(r)
            for r in await conn.fetch(
                "SELECT id, external_id, text FROM conversation.messages ORDER BY id LIMIT 25"
            )
        ]
        return state
    finally:
        await conn.close()


def run(*args: str, url: str) -> str:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": TEST_SECRET_KEY}
    result = subprocess.run(
        [sys.executable, "-m", "kit.backup", *args], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
async def filled(postgres_server: str):
    url = await fresh_database(postgres_server)
    await fill(url)
    yield url
    conn = await admin(postgres_server)
    await conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    await conn.close()


async def test_full_backup_survives_dropped_schemas(filled: str, tmp_path: Path):
    before = await snapshot(filled)
    assert {t: before[t] for t in COUNTS} == COUNTS
    output = run("dump", "--dir", str(tmp_path), url=filled)
    full = next(tmp_path.glob("vellarys-full-*.dump"))
    assert f"backup written: {full}" in output and oct(full.stat().st_mode)[-3:] == "600"
    conn = await admin(filled)
    await conn.execute("DROP SCHEMA tenant CASCADE; DROP SCHEMA conversation CASCADE")
    await conn.close()
    assert "restored full backup" in run("restore", str(full), url=filled)
    assert await snapshot(filled) == before


async def test_core_backup_restores_into_a_rebuilt_database(
    filled: str, postgres_server: str, tmp_path: Path
):
    before = await snapshot(filled)
    run("dump", "--dir", str(tmp_path), url=filled)
    core = next(tmp_path.glob("vellarys-core-*.dump"))
    rebuilt = await fresh_database(postgres_server)
    try:
        assert "restored core backup" in run("restore", str(core), url=rebuilt)
        assert await snapshot(rebuilt) == before
    finally:
        conn = await admin(postgres_server)
        await conn.execute(f'DROP DATABASE IF EXISTS "{make_url(rebuilt).database}" WITH (FORCE)')
        await conn.close()


def test_restore_of_a_missing_file_fails_clearly(database_url: str):
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET_KEY}
    result = subprocess.run(
        [sys.executable, "-m", "kit.backup", "restore", "/nonexistent.dump"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "error: no such backup: /nonexistent.dump"
