"""Tenants, niches (seeded) and WhatsApp channels.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from tenant.niches import SEED

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    niches = op.create_table(
        "niches",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("slug", sa.String(50), nullable=False, unique=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("prompt_template", sa.Text, nullable=False),
        sa.Column("qualification_fields", postgresql.JSONB, nullable=False),
    )
    op.bulk_insert(niches, SEED)
    op.create_table(
        "tenants",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("slug", sa.String(63), nullable=False, unique=True),
        sa.Column("niche_id", sa.Integer, sa.ForeignKey("niches.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="active"),
        sa.Column("leads_per_day_soft", sa.Integer, nullable=False, server_default="500"),
        sa.Column("leads_per_day_hard", sa.Integer, nullable=False, server_default="2000"),
        sa.Column("messages_per_minute_soft", sa.Integer, nullable=False, server_default="100"),
        sa.Column("messages_per_minute_hard", sa.Integer, nullable=False, server_default="500"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("status IN ('active', 'suspended')", name="ck_tenants_status"),
    )
    op.create_table(
        "channels",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "tenant_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=False),
        sa.Column("phone_number", sa.String(20), nullable=False, server_default=""),
        sa.Column("webhook_token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("provider", "external_id", name="uq_channels_provider_external"),
        sa.CheckConstraint(
            "provider IN ('zapi', 'dialog360', 'gupshup', 'meta')", name="ck_channels_provider"
        ),
    )


def downgrade() -> None:
    op.drop_table("channels")
    op.drop_table("tenants")
    op.drop_table("niches")
