"""tenant.reply_data_epoch: one counter that moves whenever what the ai service reads may have changed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

The ai service caches each tenant's AI settings, catalog places, catalog searches and niche prompt,
so a reply does not cost lookups in this service. It polls this counter (with the routing epoch, in
one GetRoutingEpoch call) every second and, when it moved, treats every cached copy as due for a
refresh: a settings change, a rollback or a catalog import shows in replies within about a second
instead of the cache's ttl. Statement-level triggers move it in the transaction that changes what
those reads return: the AI settings versions, the products, the niches, and the tenant columns the
niche prompt uses (name, niche).
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# table → the statement events that move the epoch
TRIGGERS = {
    "ai_settings_versions": "INSERT OR UPDATE OR DELETE OR TRUNCATE",
    "products": "INSERT OR UPDATE OR DELETE OR TRUNCATE",
    "niches": "INSERT OR UPDATE OR DELETE OR TRUNCATE",
    "tenants": "UPDATE OF name, niche_id OR DELETE OR TRUNCATE",
}


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE reply_data_epoch (
            singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            epoch bigint NOT NULL
        )
        """
    )
    op.execute("INSERT INTO reply_data_epoch (singleton, epoch) VALUES (true, 1)")
    op.execute(
        """
        CREATE FUNCTION reply_data_epoch_bump() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
            UPDATE tenant.reply_data_epoch SET epoch = epoch + 1;
            RETURN NULL;
        END
        $fn$
        """
    )
    for table, events in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {table}_reply_data_epoch AFTER {events}"
            f" ON {table} FOR EACH STATEMENT EXECUTE FUNCTION reply_data_epoch_bump()"
        )


def downgrade() -> None:
    for table in TRIGGERS:
        op.execute(f"DROP TRIGGER {table}_reply_data_epoch ON {table}")
    op.execute("DROP FUNCTION reply_data_epoch_bump()")
    op.execute("DROP TABLE reply_data_epoch")
