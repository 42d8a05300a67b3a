"""ANALYZE a service's tables the moment they first hold rows, not a minute or more later.

Postgres caches a plan per connection for each prepared statement and for each statement inside a
PL/pgSQL function. A plan made while a table is empty or has no statistics (a new install, a
restore) costs every index that starts with `tenant_id` the same, and can pick one that matches
only `tenant_id`: a lookup by (tenant_id, phone) then scans all of the tenant's leads. Such plans
stay cached until the table is analysed, which autovacuum does only on its next visit (its naptime
is a minute by default), so a fresh database under load runs slow plans for that long. ANALYZE
invalidates the cached plans of every connection, so the next call plans with real statistics.

This watcher asks Postgres every few seconds which of the schema's tables have never been analysed
and have changed at least `rows` rows since, and analyses each once. After that autovacuum keeps the
statistics up to date as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from kit import db
from kit.config import CommonSettings

log = logging.getLogger(__name__)

# pg_stat_user_tables is the statistics system's view: n_mod_since_analyze counts the rows inserted,
# updated and deleted since the last analysis (since creation when there was none), across sessions.
NEVER_ANALYSED = """
SELECT relid, format('%I.%I', schemaname, relname) AS name
FROM pg_stat_user_tables
WHERE schemaname = $1 AND last_analyze IS NULL AND last_autoanalyze IS NULL
    AND n_mod_since_analyze >= $2
ORDER BY relid
"""


class FirstStatistics:
    """Analyses each table of `schema` once, as soon as it has changed `rows` rows without statistics."""

    def __init__(self, engine: AsyncEngine, schema: str, rows: int, every: float) -> None:
        self.engine = engine
        self.schema = schema
        self.rows = rows
        self.every = every
        # By table oid: each is tried once per process even if Postgres skipped it (a role that does
        # not own the table gets a warning, not an error); a table dropped and made again is new.
        self.tried: set[int] = set()
        self._task: asyncio.Task[None] | None = None

    async def check(self) -> list[str]:
        """One pass: the tables analysed now, by qualified name."""
        analysed: list[str] = []
        async with self.engine.connect() as connection:
            for row in await db.driver_fetch(connection, NEVER_ANALYSED, self.schema, self.rows):
                if row["relid"] in self.tried:
                    continue
                self.tried.add(row["relid"])
                # The name comes from the catalogue, quoted by format('%I'); ANALYZE takes no parameter.
                await db.driver_fetch(connection, f"ANALYZE {row['name']}")
                log.info("analysed %s: it had no statistics and now holds rows", row["name"])
                analysed.append(row["name"])
        return analysed

    def start(self) -> None:
        if self.rows > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"first-stats-{self.schema}"
            )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.check()
            except Exception as error:  # the database may be restarting: try again next time
                log.warning(
                    "checking %s for tables without statistics failed: %s", self.schema, type(error).__name__
                )
            await asyncio.sleep(self.every)


def watch(engine: AsyncEngine, schema: str, settings: CommonSettings) -> FirstStatistics:
    """Started now (DB_FIRST_ANALYZE_ROWS=0 turns it off); the caller stops it before the pool closes."""
    watcher = FirstStatistics(
        engine, schema, settings.db_first_analyze_rows, settings.db_first_analyze_seconds
    )
    watcher.start()
    return watcher
