"""tenant.reply_data_changes: which tenants' reply data changed at which reply-data epoch.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26

With 0005 alone, any one tenant's product edit moved the one counter, and every ai process then
refreshed every tenant it had cached: an agency importing its catalog every few minutes made all
the others reload their settings and trigger terms (up to 50,000 terms each) on their next replies.
Now each change also records, per tenant, the epoch it moved the counter to, and the ai service asks
GetReplyDataChanges(since) which tenants changed after the epoch it saw, and refreshes only those.

What moves the counter and how:

- products and ai_settings_versions rows inserted, updated or deleted: the tenants of those rows
  (read from the statement's transition tables, so a statement that touched no row moves nothing);
- a tenant's name or niche changed, or the tenant deleted: that tenant;
- a niche changed, or a TRUNCATE of any of these tables: every tenant (`everyone_at`), since a niche's
  prompt is part of each of its tenants' settings.

The counter's row is updated in the transaction that makes the change, so those transactions commit
in the order of their epochs (the row lock is held to the commit): a reader that sees epoch E sees
every change numbered E or below, and none above.
"""

from __future__ import annotations

from alembic import op

from kit.migrate import sibling

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Tables whose rows carry a tenant_id. PostgreSQL allows transition tables only on single-event
# triggers without a column list: one trigger per event.
PER_TENANT = ("products", "ai_settings_versions")
EVENTS = {
    "INSERT": "REFERENCING NEW TABLE AS new_rows",
    "UPDATE": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "REFERENCING OLD TABLE AS old_rows",
}
# The tables whose 0005 trigger is replaced by the per-tenant ones above and one for TRUNCATE, which
# concerns everyone. (0005's niches trigger is made again, on the everyone function.)
REPLACED = ("products", "ai_settings_versions", "tenants")

FUNCTIONS = (
    """
CREATE FUNCTION reply_data_bump(p_tenants uuid[]) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    v_epoch bigint;
BEGIN
    IF coalesce(array_length(p_tenants, 1), 0) = 0 THEN
        RETURN;
    END IF;
    UPDATE tenant.reply_data_epoch SET epoch = epoch + 1 RETURNING epoch INTO v_epoch;
    INSERT INTO tenant.reply_data_changes AS c (tenant_id, epoch)
    SELECT DISTINCT t, v_epoch FROM unnest(p_tenants) AS t ORDER BY 1
    ON CONFLICT (tenant_id) DO UPDATE SET epoch = excluded.epoch;
END
$fn$
""",
    """
CREATE FUNCTION reply_data_bump_rows() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    v_tenants uuid[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT r.tenant_id) INTO v_tenants FROM new_rows r;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT r.tenant_id) INTO v_tenants FROM old_rows r;
    ELSE
        SELECT array_agg(DISTINCT x.tenant_id) INTO v_tenants
        FROM (SELECT tenant_id FROM old_rows UNION SELECT tenant_id FROM new_rows) x;
    END IF;
    PERFORM tenant.reply_data_bump(v_tenants);
    RETURN NULL;
END
$fn$
""",
    """
-- The tenant columns a reply reads: its name and niche (the niche prompt); deleted tenants too.
CREATE FUNCTION reply_data_bump_tenants() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    v_tenants uuid[];
BEGIN
    IF TG_OP = 'DELETE' THEN
        SELECT array_agg(r.id) INTO v_tenants FROM old_rows r;
    ELSE
        SELECT array_agg(n.id) INTO v_tenants
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE n.name IS DISTINCT FROM o.name OR n.niche_id IS DISTINCT FROM o.niche_id;
    END IF;
    PERFORM tenant.reply_data_bump(v_tenants);
    RETURN NULL;
END
$fn$
""",
    """
CREATE FUNCTION reply_data_bump_everyone() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    UPDATE tenant.reply_data_epoch SET epoch = epoch + 1, everyone_at = epoch + 1;
    RETURN NULL;
END
$fn$
""",
)


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE reply_data_changes (
            tenant_id uuid PRIMARY KEY,
            epoch bigint NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX ix_reply_data_changes_epoch ON reply_data_changes (epoch)")
    # Every ai process refreshes everything once after this migration, as after any 0005 move.
    op.execute("ALTER TABLE reply_data_epoch ADD COLUMN everyone_at bigint NOT NULL DEFAULT 0")
    op.execute("UPDATE reply_data_epoch SET epoch = epoch + 1, everyone_at = epoch + 1")
    for function in FUNCTIONS:
        op.execute(function)
    for table in REPLACED:
        op.execute(f"DROP TRIGGER {table}_reply_data_epoch ON {table}")
    for table in PER_TENANT:
        for event, referencing in EVENTS.items():
            op.execute(
                f"CREATE TRIGGER {table}_reply_data_{event.lower()} AFTER {event} ON {table}"
                f" {referencing} FOR EACH STATEMENT EXECUTE FUNCTION reply_data_bump_rows()"
            )
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER tenants_reply_data_{event.lower()} AFTER {event} ON tenants"
            f" {EVENTS[event]} FOR EACH STATEMENT EXECUTE FUNCTION reply_data_bump_tenants()"
        )
    for table in REPLACED:
        op.execute(
            f"CREATE TRIGGER {table}_reply_data_truncate AFTER TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION reply_data_bump_everyone()"
        )
    op.execute("DROP TRIGGER niches_reply_data_epoch ON niches")
    op.execute(
        "CREATE TRIGGER niches_reply_data_epoch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON niches"
        " FOR EACH STATEMENT EXECUTE FUNCTION reply_data_bump_everyone()"
    )


def downgrade() -> None:
    for table in PER_TENANT:
        for event in EVENTS:
            op.execute(f"DROP TRIGGER {table}_reply_data_{event.lower()} ON {table}")
    for event in ("UPDATE", "DELETE"):
        op.execute(f"DROP TRIGGER tenants_reply_data_{event.lower()} ON tenants")
    for table in REPLACED:
        op.execute(f"DROP TRIGGER {table}_reply_data_truncate ON {table}")
    op.execute("DROP TRIGGER niches_reply_data_epoch ON niches")
    for table, on in sibling(__file__, "0005_reply_data_epoch.py").TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {table}_reply_data_epoch AFTER {on}"
            f" ON {table} FOR EACH STATEMENT EXECUTE FUNCTION reply_data_epoch_bump()"
        )
    op.execute("DROP FUNCTION reply_data_bump_everyone()")
    op.execute("DROP FUNCTION reply_data_bump_tenants()")
    op.execute("DROP FUNCTION reply_data_bump_rows()")
    op.execute("DROP FUNCTION reply_data_bump(uuid[])")
    op.execute("ALTER TABLE reply_data_epoch DROP COLUMN everyone_at")
    op.execute("DROP TABLE reply_data_changes")
