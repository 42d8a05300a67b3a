"""Each service role owns its schema and nothing else: Postgres enforces the boundary."""

from __future__ import annotations

import asyncpg
import pytest

import tenant
from kit import config
from kit.config import CommonSettings
from kit.dbadmin import asyncpg_dsn, bootstrap
from kit.testing import settings_for_tests


async def connect_as(database_url: str, service: str) -> asyncpg.Connection:
    settings = settings_for_tests(CommonSettings, database_url)
    return await asyncpg.connect(asyncpg_dsn(config.service_database_url(settings, service)))


class TestBootstrap:
    async def test_role_cannot_touch_another_schema(self, migrated, database_url):
        migrated("tenant", tenant.__file__)
        conn = await connect_as(database_url, "conversation")
        try:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetch("SELECT * FROM tenant.tenants")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("CREATE TABLE tenant.sneaky (id int)")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("CREATE TABLE public.sneaky (id int)")
            # ...while its own schema is its to use, and is its search_path.
            await conn.execute("CREATE TABLE mine (id int)")
            assert await conn.fetchval("SELECT to_regclass('conversation.mine') IS NOT NULL")
            await conn.execute("DROP TABLE mine")
        finally:
            await conn.close()

    async def test_gateway_role_may_only_connect(self, migrated, database_url):
        migrated("tenant", tenant.__file__)
        conn = await connect_as(database_url, "gateway")
        try:
            assert await conn.fetchval("SELECT 1") == 1
            for schema in config.SERVICES:
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute(f"CREATE TABLE {schema}.x (id int)")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetch("SELECT * FROM tenant.tenants")
        finally:
            await conn.close()

    async def test_version_table_lives_in_the_service_schema(self, migrated, database_url):
        migrated("tenant", tenant.__file__)
        conn = await asyncpg.connect(asyncpg_dsn(database_url))
        try:
            owner = await conn.fetchval(
                "SELECT tableowner FROM pg_tables WHERE schemaname = 'tenant' AND tablename = 'alembic_version'"
            )
            assert owner == "vellarys_tenant"
            assert await conn.fetchval("SELECT to_regclass('public.alembic_version')") is None
        finally:
            await conn.close()

    async def test_bootstrap_is_idempotent_and_concurrent_safe(self, database_url):
        import asyncio

        settings = settings_for_tests(CommonSettings, database_url)
        await asyncio.gather(*(asyncio.to_thread(asyncio.run, bootstrap(settings)) for _ in range(3)))
        conn = await asyncpg.connect(asyncpg_dsn(database_url))
        try:
            owners = dict(
                await conn.fetch(
                    "SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = ANY($1)",
                    list(config.SERVICES),
                )
            )
            assert owners == {s: f"vellarys_{s}" for s in config.SERVICES}
        finally:
            await conn.close()
