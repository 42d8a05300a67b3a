"""Call accounting: estimated cost, the job and attempt, and the outcomes of the model path.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OUTCOMES = "('ok', 'fallback', 'error', 'breaker_open', 'offline')"


def upgrade() -> None:
    op.add_column("calls", sa.Column("job_id", sa.String(100)))
    op.add_column("calls", sa.Column("attempt", sa.Integer, nullable=False, server_default="0"))
    op.add_column("calls", sa.Column("cost_usd", sa.Numeric(14, 8)))
    op.drop_constraint("ck_calls_outcome", "calls", type_="check")
    op.create_check_constraint("ck_calls_outcome", "calls", f"outcome IN {OUTCOMES}")


def downgrade() -> None:
    op.drop_constraint("ck_calls_outcome", "calls", type_="check")
    op.execute("UPDATE ai.calls SET outcome = 'error' WHERE outcome IN ('breaker_open', 'offline')")
    op.create_check_constraint("ck_calls_outcome", "calls", "outcome IN ('ok', 'fallback', 'error')")
    op.drop_column("calls", "cost_usd")
    op.drop_column("calls", "attempt")
    op.drop_column("calls", "job_id")
