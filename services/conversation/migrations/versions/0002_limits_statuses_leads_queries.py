"""Limits flags, delivery statuses, conversation events, lead assignment and the leads-list indexes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Index design for the dashboard's leads list (p99 <= 30 ms with 100k leads / 1M messages per tenant):
every list is ``WHERE tenant_id = ? [AND filter] ORDER BY last_message_at DESC, id DESC LIMIT n`` with a
keyset ``(last_message_at, id) < (?, ?)``. A btree whose columns are exactly (tenant_id, [filter column,]
last_message_at DESC, id DESC) answers that with an index range scan that stops after n rows, whatever
the page depth: one such index for no filter, one for status, one for the assigned seller (which also
serves ``assigned_user_id IS NULL``). Text search (anywhere in name or phone) uses trigram GIN indexes:
the planner bitmap-scans them and sorts the few matches, or walks the activity index and filters when
the term matches most rows. Date ranges on activity are ranges of the same index; creation date ranges
are filters. The messages page uses (tenant_id, lead_id, created_at DESC, id DESC) the same way.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UUID = postgresql.UUID(as_uuid=True)
TS = sa.DateTime(timezone=True)
LEAD_STATUSES = "('new', 'qualified', 'in_progress', 'won', 'lost', 'opted_out')"
DELIVERY_STATUSES = "('queued', 'sent', 'delivered', 'read', 'played', 'failed')"


def _leads() -> None:
    op.add_column("leads", sa.Column("assigned_user_id", UUID))
    op.add_column("leads", sa.Column("notes", sa.Text, nullable=False, server_default=""))
    op.add_column("leads", sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()))
    # The list's sort key must never be NULL, or keyset pagination would need NULLS handling everywhere.
    op.execute("UPDATE leads SET last_message_at = created_at WHERE last_message_at IS NULL")
    op.alter_column("leads", "last_message_at", nullable=False, server_default=sa.func.now())
    op.create_check_constraint("ck_leads_status", "leads", f"status IN {LEAD_STATUSES}")
    activity = [sa.text("last_message_at DESC"), sa.text("id DESC")]
    op.create_index("ix_leads_activity", "leads", ["tenant_id", *activity])
    op.create_index("ix_leads_status_activity", "leads", ["tenant_id", "status", *activity])
    op.create_index("ix_leads_assigned_activity", "leads", ["tenant_id", "assigned_user_id", *activity])
    # pg_trgm lives in public (kit.dbadmin installs it when the server has it); without it search
    # still works, by scanning the tenant's activity index.
    op.execute(
        """
        DO $$ BEGIN
          IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
            CREATE INDEX ix_leads_name_trgm ON leads USING gin (name public.gin_trgm_ops);
            CREATE INDEX ix_leads_phone_trgm ON leads USING gin (phone public.gin_trgm_ops);
          END IF;
        END $$
        """
    )


def _messages() -> None:
    # Outbound messages are stored before the provider gives them an id (RecordOutboundSent sets it).
    op.alter_column("messages", "external_id", nullable=True)
    op.add_column("messages", sa.Column("status", sa.String(20)))
    op.add_column("messages", sa.Column("status_at", TS))
    op.add_column("messages", sa.Column("auto_reply_blocked", sa.String(40)))
    op.drop_index("ix_messages_lead_created", table_name="messages")
    op.create_index(
        "ix_messages_lead_page",
        "messages",
        ["tenant_id", "lead_id", sa.text("created_at DESC"), sa.text("id DESC")],
    )


def _status_events() -> None:
    op.create_table(
        "message_status_events",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("tenant_id", UUID, nullable=False),
        # NULL while no stored message carries this provider id (an orphan, attached later).
        sa.Column("message_id", UUID, sa.ForeignKey("messages.id", ondelete="CASCADE")),
        sa.Column("provider", sa.String(30), nullable=False),
        sa.Column("provider_message_id", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error_code", sa.Text, nullable=False, server_default=""),
        sa.Column("error_title", sa.Text, nullable=False, server_default=""),
        sa.Column("at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint(f"status IN {DELIVERY_STATUSES}", name="ck_status_events_status"),
    )
    # (tenant, provider, provider id) identifies the message, so this is "once per (message, status)",
    # and it holds for orphans too.
    op.create_index(
        "uq_status_events_once",
        "message_status_events",
        ["tenant_id", "provider", "provider_message_id", "status"],
        unique=True,
    )
    op.create_index("ix_status_events_message", "message_status_events", ["message_id"])


def _conversation_events() -> None:
    op.create_table(
        "conversation_events",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column(
            "conversation_id", UUID, sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("message_id", UUID, sa.ForeignKey("messages.id", ondelete="CASCADE")),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("actor", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
    )
    op.create_index(
        "ix_conversation_events_timeline",
        "conversation_events",
        ["tenant_id", "conversation_id", "created_at"],
    )
    op.create_index("ix_conversation_events_message", "conversation_events", ["message_id"])


def upgrade() -> None:
    _leads()
    _messages()
    _status_events()
    _conversation_events()
    op.create_table(
        "tenant_day_counters",
        sa.Column("tenant_id", UUID, primary_key=True),
        # The day in America/Sao_Paulo, the tenants' business day.
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("new_leads", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("tenant_day_counters")
    op.drop_table("conversation_events")
    op.drop_table("message_status_events")
    op.drop_index("ix_messages_lead_page", table_name="messages")
    op.create_index(
        "ix_messages_lead_created", "messages", ["tenant_id", "lead_id", sa.text("created_at DESC")]
    )
    for column in ("auto_reply_blocked", "status_at", "status"):
        op.drop_column("messages", column)
    op.execute("DROP INDEX IF EXISTS ix_leads_name_trgm")
    op.execute("DROP INDEX IF EXISTS ix_leads_phone_trgm")
    for index in ("ix_leads_assigned_activity", "ix_leads_status_activity", "ix_leads_activity"):
        op.drop_index(index, table_name="leads")
    op.drop_constraint("ck_leads_status", "leads")
    op.alter_column("leads", "last_message_at", nullable=True, server_default=None)
    for column in ("updated_at", "notes", "assigned_user_id"):
        op.drop_column("leads", column)
