"""Leads, conversations and messages (exactly once per provider message id).

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UUID = postgresql.UUID(as_uuid=True)


def _now() -> sa.Column[sa.DateTime]:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "leads",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("phone", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.String(30), nullable=False, server_default="new"),
        _now(),
        sa.Column("last_message_at", sa.DateTime(timezone=True)),
        sa.Column("message_count", sa.Integer, nullable=False, server_default="0"),
        sa.UniqueConstraint("tenant_id", "phone", name="uq_leads_tenant_phone"),
    )
    op.create_table(
        "conversations",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("lead_id", UUID, sa.ForeignKey("leads.id", ondelete="CASCADE"), nullable=False),
        sa.Column("channel_id", UUID),
        sa.Column("owner", sa.String(10), nullable=False, server_default="ai"),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        _now(),
        sa.Column("last_inbound_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("tenant_id", "lead_id", name="uq_conversations_tenant_lead"),
        sa.CheckConstraint("owner IN ('ai', 'human', 'nobody')", name="ck_conversations_owner"),
    )
    op.create_table(
        "messages",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("lead_id", UUID, sa.ForeignKey("leads.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "conversation_id", UUID, sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("direction", sa.String(20), nullable=False),
        sa.Column("provider", sa.String(30), nullable=False),
        sa.Column("external_id", sa.Text, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("text", sa.Text, nullable=False, server_default=""),
        sa.Column("media", postgresql.JSONB),
        sa.Column("location", postgresql.JSONB),
        sa.Column("reply_id", sa.Text, nullable=False, server_default=""),
        sa.Column("raw", postgresql.JSONB),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        _now(),
        sa.CheckConstraint(
            "direction IN ('inbound', 'outbound_human', 'outbound_ai')", name="ck_messages_direction"
        ),
    )
    op.create_index(
        "uq_messages_provider_external", "messages", ["tenant_id", "provider", "external_id"], unique=True
    )
    op.create_index(
        "ix_messages_lead_created",
        "messages",
        ["tenant_id", "lead_id", sa.text("created_at DESC")],
    )


def downgrade() -> None:
    op.drop_table("messages")
    op.drop_table("conversations")
    op.drop_table("leads")
