"""The dashboard's simulator: simulated calls flagged in the call log, saved cases and their runs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("calls", sa.Column("simulated", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_table(
        "simulator_cases",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("lead_name", sa.String(100), nullable=False, server_default=""),
        sa.Column("messages", postgresql.JSONB, nullable=False),
        sa.Column("profile", postgresql.JSONB, nullable=False, server_default="[]"),
        sa.Column("expectations", postgresql.JSONB, nullable=False),
        sa.Column("created_by", postgresql.UUID(as_uuid=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("tenant_id", "name", name="uq_simulator_cases_tenant_name"),
    )
    op.create_table(
        "simulator_runs",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("settings_version", sa.Integer),
        sa.Column("created_by", postgresql.UUID(as_uuid=True)),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("passed", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("results", postgresql.JSONB, nullable=False),
    )
    op.create_index("ix_simulator_runs_tenant_started", "simulator_runs", ["tenant_id", "started_at"])


def downgrade() -> None:
    op.drop_table("simulator_runs")
    op.drop_table("simulator_cases")
    op.drop_column("calls", "simulated")
