"""tenant.routing_epoch: one counter that moves whenever a webhook's routing answer may have changed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

The gateway caches ResolveChannel's answers. It polls this counter (GetRoutingEpoch, one row) every
second and, when it moved, treats every cached answer as due for a refresh, so a revoked token, a
suspended tenant or new limits show within about a second instead of the cache's ttl. Statement-level
triggers move it in the transaction that changes what ResolveChannel reads: any change to channels,
and to the tenant columns it returns for routing (status and the plan limits).
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ROUTING_TENANT_COLUMNS = (
    "status",
    "leads_per_day_soft",
    "leads_per_day_hard",
    "messages_per_minute_soft",
    "messages_per_minute_hard",
)


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE routing_epoch (
            singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            epoch bigint NOT NULL
        )
        """
    )
    op.execute("INSERT INTO routing_epoch (singleton, epoch) VALUES (true, 1)")
    op.execute(
        """
        CREATE FUNCTION routing_epoch_bump() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
            UPDATE tenant.routing_epoch SET epoch = epoch + 1;
            RETURN NULL;
        END
        $fn$
        """
    )
    op.execute(
        "CREATE TRIGGER channels_routing_epoch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE"
        " ON channels FOR EACH STATEMENT EXECUTE FUNCTION routing_epoch_bump()"
    )
    op.execute(
        f"CREATE TRIGGER tenants_routing_epoch AFTER UPDATE OF {', '.join(ROUTING_TENANT_COLUMNS)}"
        " OR DELETE OR TRUNCATE ON tenants FOR EACH STATEMENT EXECUTE FUNCTION routing_epoch_bump()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER tenants_routing_epoch ON tenants")
    op.execute("DROP TRIGGER channels_routing_epoch ON channels")
    op.execute("DROP FUNCTION routing_epoch_bump()")
    op.execute("DROP TABLE routing_epoch")
