"""Database bootstrap: one schema and one login role per service, enforced by Postgres grants.

Runs with ``DATABASE_URL`` (a role allowed to create roles and schemas). Each service role owns
its own schema and has no rights on the others, so "a service touches only its own data" is a
rule Postgres enforces, not one we merely agree on. Idempotent and safe to run concurrently.

    python -m kit.dbadmin bootstrap [service ...]
"""

from __future__ import annotations

import asyncio
import logging
import sys

import asyncpg
from sqlalchemy.engine import make_url

from kit import config
from kit.config import CommonSettings

log = logging.getLogger(__name__)

# Serialises concurrent bootstraps (two `make test` runs, two replicas' init containers).
_LOCK_KEY = 0x7E11A5


def asyncpg_dsn(url: str) -> str:
    """asyncpg wants a plain ``postgresql://`` URL, not SQLAlchemy's ``+asyncpg`` form."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _ensure_role(conn: asyncpg.Connection, role: str, password: str) -> None:
    exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
    verb = "ALTER" if exists else "CREATE"
    statement = await conn.fetchval(
        f"SELECT format('{verb} ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
        "NOINHERIT PASSWORD %L', $1::text, $2::text)",
        role,
        password,
    )
    try:
        await conn.execute(statement)
    except asyncpg.DuplicateObjectError:
        # Another bootstrap created it between our check and our CREATE.
        await _ensure_role(conn, role, password)


async def _ensure_schema(conn: asyncpg.Connection, schema: str, role: str, database: str) -> None:
    is_superuser = await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    if not is_superuser:
        # A managed Postgres admin must be a member of the role to hand it a schema.
        await conn.execute(await conn.fetchval("SELECT format('GRANT %I TO current_user', $1::text)", role))
    for template in (
        "CREATE SCHEMA IF NOT EXISTS %1$I AUTHORIZATION %2$I",
        "ALTER SCHEMA %1$I OWNER TO %2$I",
        "REVOKE ALL ON SCHEMA %1$I FROM PUBLIC",
        "ALTER ROLE %2$I IN DATABASE %3$I SET search_path = %1$I",
        "GRANT CONNECT ON DATABASE %3$I TO %2$I",
    ):
        statement = await conn.fetchval(
            "SELECT format($1::text, $2::text, $3::text, $4::text)", template, schema, role, database
        )
        await conn.execute(statement)


async def bootstrap(settings: CommonSettings, services: tuple[str, ...] = config.SERVICES) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url), timeout=10)
    try:
        database = await conn.fetchval("SELECT current_database()")
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        try:
            # Nobody but the owner may create objects in public (PG15's default, made explicit).
            await conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
            for extension in ("pg_trgm", "unaccent"):
                try:
                    await conn.execute(f"CREATE EXTENSION IF NOT EXISTS {extension} SCHEMA public")
                except asyncpg.PostgresError as exc:  # optional: search degrades without them
                    log.warning("extension %s unavailable: %s", extension, exc)
            for service in services:
                role = config.role_name(settings, service)
                await _ensure_role(conn, role, config.role_password(settings, service))
                await _ensure_schema(conn, service, role, database)
            # The gateway owns no data: its role may connect (for health checks) and nothing more.
            gateway = config.role_name(settings, "gateway")
            await _ensure_role(conn, gateway, config.role_password(settings, "gateway"))
            await conn.execute(
                await conn.fetchval(
                    "SELECT format('GRANT CONNECT ON DATABASE %I TO %I', $1::text, $2::text)",
                    database,
                    gateway,
                )
            )
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    finally:
        await conn.close()


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "bootstrap":
        print("usage: python -m kit.dbadmin bootstrap [service ...]", file=sys.stderr)
        return 2
    services = tuple(argv[1:]) or config.SERVICES
    unknown = set(services) - set(config.SERVICES)
    if unknown:
        print(f"unknown service(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    settings = config.load(CommonSettings)
    asyncio.run(bootstrap(settings, services))
    print(f"database bootstrapped: schemas and roles for {', '.join(services)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
