"""0006's downgrade puts back 0005's one counter for every change; up again, changes are per tenant."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import asyncpg
from alembic import command

import tenant
from kit.dbadmin import asyncpg_dsn
from kit.migrate import alembic_config
from kit.service import migrations_dir


async def test_reply_data_migration_goes_down_and_up_again(migrated, database_url):
    url = migrated("tenant", tenant.__file__)
    config = alembic_config(migrations_dir(tenant.__file__), url, "tenant")

    def run(step: Callable[..., None], revision: str) -> None:
        with ThreadPoolExecutor(max_workers=1) as pool:  # alembic's env runs a loop of its own
            pool.submit(step, config, revision).result()

    sql = await asyncpg.connect(asyncpg_dsn(database_url))
    tenant_id = uuid.uuid4()
    await sql.execute(
        "INSERT INTO tenant.tenants (id, name, slug, niche_id) VALUES ($1, 'Imob', $2, 1)",
        tenant_id,
        f"m-{tenant_id.hex[:10]}",
    )

    async def moved_by(statement: str) -> tuple[int, bool]:
        """How far a statement moved the epoch, and whether it recorded the tenant's change."""
        before = await sql.fetchval("SELECT epoch FROM tenant.reply_data_epoch")
        async with sql.transaction():
            await sql.execute(statement, tenant_id)
        after = await sql.fetchval("SELECT epoch FROM tenant.reply_data_epoch")
        table = await sql.fetchval("SELECT to_regclass('tenant.reply_data_changes')")
        recorded = (
            after > before
            and table is not None
            and await sql.fetchval(
                "SELECT epoch = $2 FROM tenant.reply_data_changes WHERE tenant_id = $1", tenant_id, after
            )
        )
        return after - before, bool(recorded)

    nothing = "UPDATE tenant.products SET title = title WHERE tenant_id = $1 AND false"
    renamed = "UPDATE tenant.tenants SET name = name || '' WHERE id = $1 AND $1 = $1"
    try:
        run(command.downgrade, "0005")
        assert await moved_by(nothing) == (1, False)  # 0005: every statement moves it
        run(command.upgrade, "head")
        assert await moved_by(nothing) == (0, False)
        await sql.execute("UPDATE tenant.tenants SET name = name || '.' WHERE id = $1", tenant_id)
        assert await moved_by(renamed) == (0, False)  # the same name: nothing a reply reads
        assert await moved_by("UPDATE tenant.tenants SET name = name || '!' WHERE id = $1") == (1, True)
        # A TRUNCATE names no rows: it concerns every tenant (rolled back, so the table keeps its rows).
        tx = sql.transaction()
        await tx.start()
        try:
            await sql.execute("TRUNCATE tenant.ai_settings_versions")
            epoch, everyone_at = await sql.fetchrow("SELECT epoch, everyone_at FROM tenant.reply_data_epoch")
            assert everyone_at == epoch
        finally:
            await tx.rollback()
    finally:
        await sql.close()
