"""A table that fills up without statistics is analysed within seconds, and cached plans follow."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

import conversation
from kit import db
from kit.config import normalise_database_url
from kit.dbadmin import asyncpg_dsn
from kit.dbstats import FirstStatistics

TENANTS = 50
# One of TENANTS uuids, chosen by the row number g.
TENANT = f"('00000000-0000-0000-0000-' || lpad(to_hex(g % {TENANTS}), 12, '0'))::uuid"


@pytest.fixture
async def schema(database_url: str, migrated) -> AsyncIterator[str]:
    """A schema of this test's own: a copy of the conversation service's leads table, with all its
    indexes (a unique (tenant_id, phone) key and list indexes that start with tenant_id too)."""
    migrated("conversation", conversation.__file__)
    name = f"stats_probe_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await conn.execute(f"""
            CREATE SCHEMA {name};
            CREATE TABLE {name}.leads (LIKE conversation.leads INCLUDING ALL);
            CREATE TABLE {name}.small (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v int);
        """)
        yield name
    finally:
        await conn.execute(f"DROP SCHEMA {name} CASCADE")
        await conn.close()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = db.create_engine(
        normalise_database_url(database_url), pool_size=2, max_overflow=0, application_name="test-dbstats"
    )
    yield engine
    await engine.dispose()


async def fill(database_url: str, schema: str, leads: int, small: int) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        # Report the counts at commit (Postgres 15 and later; older ones report within a second or so).
        with contextlib.suppress(asyncpg.UndefinedFunctionError):
            await conn.execute("SELECT pg_stat_force_next_flush()")
        await conn.execute(
            f"INSERT INTO {schema}.leads (id, tenant_id, phone, last_message_at) "
            f"SELECT gen_random_uuid(), {TENANT}, '+5511' || g, now() FROM generate_series(1, $1) g",
            leads,
        )
        await conn.execute(f"INSERT INTO {schema}.small (v) SELECT generate_series(1, $1)", small)
    finally:
        await conn.close()


async def stats(conn: asyncpg.Connection, schema: str) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch(
        "SELECT relname, n_mod_since_analyze, last_analyze FROM pg_stat_user_tables WHERE schemaname = $1",
        schema,
    )
    return {r["relname"]: r for r in rows}


async def counted(conn: asyncpg.Connection, schema: str, table: str, rows: int) -> None:
    """Until the statistics system shows `rows` changes of `table` (backends report them async)."""
    deadline = time.monotonic() + 15
    while (await stats(conn, schema))[table]["n_mod_since_analyze"] < rows:
        assert time.monotonic() < deadline, f"{schema}.{table} never showed {rows} changed rows"
        await asyncio.sleep(0.05)


async def test_a_table_without_statistics_is_analysed_once_it_holds_rows(database_url, schema, engine):
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        watcher = FirstStatistics(engine, schema, rows=1000, every=60)
        assert await watcher.check() == []  # empty tables: nothing to learn yet

        await fill(database_url, schema, leads=1500, small=10)
        await counted(conn, schema, "leads", 1500)
        await counted(conn, schema, "small", 10)
        assert await watcher.check() == [f"{schema}.leads"]

        after = await stats(conn, schema)
        assert after["leads"]["last_analyze"] is not None
        assert after["small"]["last_analyze"] is None  # under the threshold: autovacuum's business
        distinct = await conn.fetchval(
            "SELECT n_distinct FROM pg_stats WHERE schemaname = $1 AND tablename = 'leads' "
            "AND attname = 'tenant_id'",
            schema,
        )
        assert distinct == TENANTS  # real statistics, read from the rows

        await fill(database_url, schema, leads=0, small=2000)
        await counted(conn, schema, "small", 2010)
        assert await watcher.check() == [f"{schema}.small"]  # leads has statistics now: left alone
        assert await watcher.check() == []
    finally:
        await conn.close()


async def test_a_plan_cached_on_the_empty_table_is_replaced(database_url, schema, engine):
    """The reason for the watcher: a generic plan made on the empty table picks an index by its
    tenant_id prefix alone; once the table is analysed the same prepared statement uses the key."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        # Generic plans always, as PL/pgSQL and asyncpg's prepared statements end up using.
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        await conn.execute(
            f"PREPARE lookup(uuid, text) AS SELECT id FROM {schema}.leads WHERE tenant_id = $1 AND phone = $2"
        )
        explain = "EXPLAIN (COSTS OFF) EXECUTE lookup('00000000-0000-0000-0000-000000000007', '+55117')"
        assert await conn.fetchval(explain)  # planned (and cached) while the table is empty

        await fill(database_url, schema, leads=20_000, small=0)
        await counted(conn, schema, "leads", 20_000)
        cold = "\n".join(r[0] for r in await conn.fetch(explain))

        watcher = FirstStatistics(engine, schema, rows=1000, every=60)
        watcher.start()
        try:
            deadline = time.monotonic() + 15
            while (await stats(conn, schema))["leads"]["last_analyze"] is None:
                assert time.monotonic() < deadline, "the running watcher never analysed the table"
                await asyncio.sleep(0.05)
        finally:
            await watcher.stop()

        warm = "\n".join(r[0] for r in await conn.fetch(explain))
        assert "leads_tenant_id_phone_key" in warm, warm
        assert "Filter: (phone = $2)" not in warm, warm
        # What it replaced, when this Postgres ties the two indexes on the empty table (15 does).
        if "leads_tenant_id_phone_key" not in cold:
            assert "Filter: (phone = $2)" in cold, cold
    finally:
        await conn.close()


async def test_a_watcher_told_zero_rows_never_starts(schema, engine):
    watcher = FirstStatistics(engine, schema, rows=0, every=0.01)
    watcher.start()
    assert watcher._task is None
    await watcher.stop()
