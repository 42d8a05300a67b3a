"""One async engine per process, one transaction per use case."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

import asyncpg
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from kit import metrics
from kit.config import CommonSettings, service_database_url


def create_engine(url: str, *, pool_size: int, max_overflow: int, application_name: str) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        # No ping per checkout (a round trip on every transaction, a fifth of ingest's cost): after a
        # Postgres restart the first statement on a dead connection fails, SQLAlchemy then discards
        # the whole pool, and readiness reports NOT_SERVING until the database answers again.
        pool_pre_ping=False,
        pool_timeout=10,
        connect_args={
            "server_settings": {"application_name": application_name},
            "timeout": 5,
            "command_timeout": 30,
        },
    )


def service_engine(settings: CommonSettings, service: str, override: str | None = None) -> AsyncEngine:
    engine = create_engine(
        service_database_url(settings, service, override),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        application_name=f"vellarys-{service}",
    )
    metrics.watch_pool(service, engine)
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


_NAMED = re.compile(r"(?<![:\w]):(\w+)")


class Raw:
    """A SQL text written with :name parameters (as sqlalchemy.text takes it) for driver_fetch, so a
    statement used both in sessions and raw is written once: $1, $2… in order of first appearance.

    `jsonb` names the JSONB parameters: encoded to JSON text here, as SQLAlchemy's JSONB type does
    (None too becomes JSON null), since the raw driver takes JSON as text on these connections.
    """

    def __init__(self, sql: str, *, jsonb: Iterable[str] = ()) -> None:
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match.group(1) not in names:
                names.append(match.group(1))
            return f"${names.index(match.group(1)) + 1}"

        self.sql = _NAMED.sub(number, sql)
        self.names = tuple(names)
        self.jsonb = frozenset(jsonb)
        if unknown := self.jsonb - set(names):
            raise ValueError(f"not parameters of this statement: {sorted(unknown)}")

    def args(self, values: Mapping[str, Any]) -> list[Any]:
        return [orjson.dumps(values[n]).decode() if n in self.jsonb else values[n] for n in self.names]

    async def fetch(self, connection: AsyncConnection, values: Mapping[str, Any]) -> list[asyncpg.Record]:
        """driver_fetch of this statement with `values` keyed by its parameter names."""
        return await driver_fetch(connection, self.sql, *self.args(values))


async def driver_fetch(connection: AsyncConnection, sql: str, *args: Any) -> list[asyncpg.Record]:
    """Run one constant SQL text ($1, $2… parameters) straight on the pooled asyncpg connection.

    For the hot single-statement steps: SQLAlchemy's statement execution is about half such a step's
    CPU. asyncpg keeps the statement prepared per connection, so it is one bind/execute round trip;
    outside a transaction it commits alone.
    """
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    try:
        return list(await driver.fetch(sql, *args))
    except asyncpg.PostgresError:
        raise  # the server answered: the connection is fine
    except BaseException:
        # SQLAlchemy never saw this call, so it can't tell the connection is broken (a database
        # restart, a cancelled query): drop it from the pool ourselves, keep the original error.
        with contextlib.suppress(Exception):
            await connection.invalidate()
        raise


async def fetch(engine: AsyncEngine, sql: str, *args: Any) -> list[asyncpg.Record]:
    """driver_fetch on a connection of `engine`'s pool, outside any transaction (it commits alone)."""
    async with engine.connect() as connection:
        return await driver_fetch(connection, sql, *args)


async def ping(engine: AsyncEngine, timeout: float = 2.0) -> bool:
    """True when the database answers a trivial query within `timeout` seconds."""
    import asyncio

    async def _query() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(_query(), timeout)
    except Exception:
        return False
    return True
