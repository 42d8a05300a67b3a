"""Reply jobs (the outbox of automatic replies), ownership details, opt-out, lead profiles.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

reply_jobs: at most one *pending* job (queued or retry_wait) per conversation — a partial unique index —
so a burst of messages extends that one job instead of queueing one reply per message. Workers find
due jobs through ix_reply_jobs_due (pending only, so the index stays as small as the queue) and
expired leases through ix_reply_jobs_running. messages.notify_pending marks outbound messages that
were stored but not yet handed to notify; the sweeper scans only those (partial index).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UUID = postgresql.UUID(as_uuid=True)
TS = sa.DateTime(timezone=True)
JOB_STATUSES = "('queued', 'running', 'done', 'failed', 'retry_wait', 'cancelled')"
PENDING = "status IN ('queued', 'retry_wait')"


def _reply_jobs() -> None:
    op.create_table(
        "reply_jobs",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column(
            "conversation_id", UUID, sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("lead_id", UUID, sa.ForeignKey("leads.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="queued"),
        sa.Column("run_after", TS, nullable=False),
        # When the current burst began: run_after never moves past burst_started_at + max wait.
        sa.Column("burst_started_at", TS, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        # The claim token of the run holding the lease (a fresh one per claim).
        sa.Column("locked_by", sa.Text),
        sa.Column("locked_until", TS),
        sa.Column("last_error", sa.Text),
        sa.Column("outcome", sa.String(40)),
        sa.Column("traceparent", sa.Text, nullable=False, server_default=""),
        sa.Column("tracestate", sa.Text, nullable=False, server_default=""),
        sa.Column("last_message_id", UUID),
        # The newest inbound message the run that finished this job had seen.
        sa.Column("covered_until", TS),
        sa.Column("fallback_sent", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint(f"status IN {JOB_STATUSES}", name="ck_reply_jobs_status"),
    )
    op.create_index(
        "uq_reply_jobs_pending",
        "reply_jobs",
        ["conversation_id"],
        unique=True,
        postgresql_where=sa.text(PENDING),
    )
    op.create_index("ix_reply_jobs_due", "reply_jobs", ["run_after"], postgresql_where=sa.text(PENDING))
    op.create_index(
        "ix_reply_jobs_running",
        "reply_jobs",
        ["locked_until"],
        postgresql_where=sa.text("status = 'running'"),
    )
    op.create_index("ix_reply_jobs_conversation", "reply_jobs", ["conversation_id", "covered_until"])


def upgrade() -> None:
    op.add_column("leads", sa.Column("opted_out", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("conversations", sa.Column("owner_user_id", UUID))
    op.add_column("conversations", sa.Column("owner_changed_at", TS))
    op.add_column("conversation_events", sa.Column("owner", sa.String(10)))
    op.add_column("conversation_events", sa.Column("owner_user_id", UUID))
    # What the deciding party said, e.g. the AI's handoff reason.
    op.add_column("conversation_events", sa.Column("detail", sa.Text, nullable=False, server_default=""))
    op.add_column(
        "messages", sa.Column("notify_pending", sa.Boolean, nullable=False, server_default=sa.false())
    )
    op.create_index(
        "ix_messages_notify_pending", "messages", ["created_at"], postgresql_where=sa.text("notify_pending")
    )
    _reply_jobs()
    op.create_table(
        "lead_profiles",
        sa.Column("lead_id", UUID, sa.ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("tenant_id", UUID, nullable=False),
        # [{name, value, evidence, confidence}], the whole profile as the AI last returned it.
        sa.Column("fields", postgresql.JSONB, nullable=False, server_default="[]"),
        sa.Column("score", sa.Integer, nullable=False, server_default="0"),
        sa.Column("score_reasons", postgresql.JSONB, nullable=False, server_default="[]"),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("lead_profiles")
    op.drop_table("reply_jobs")
    op.drop_index("ix_messages_notify_pending", table_name="messages")
    op.drop_column("messages", "notify_pending")
    op.drop_column("conversation_events", "detail")
    op.drop_column("conversation_events", "owner_user_id")
    op.drop_column("conversation_events", "owner")
    op.drop_column("conversations", "owner_changed_at")
    op.drop_column("conversations", "owner_user_id")
    op.drop_column("leads", "opted_out")
