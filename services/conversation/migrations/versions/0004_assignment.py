"""Seller assignment: the per-tenant round-robin cursor and the conversations' pick-up deadline.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

assignment_cursors: one row per tenant holding the last seller chosen by round-robin; assigners lock
it (SELECT … FOR UPDATE) so concurrent handoffs of one tenant take turns and never pick the same
seller twice in a row. conversations.assignment_due_at: when the assignment sweeper must look at the
conversation again — now() right after a handoff (assign a seller), the pick-up deadline after an
assignment (reassign if nobody picked up), NULL once a person owns it. The partial index keeps the
sweeper's scan as small as the set of waiting conversations.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UUID = postgresql.UUID(as_uuid=True)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "assignment_cursors",
        sa.Column("tenant_id", UUID, primary_key=True),
        sa.Column("last_user_id", UUID, nullable=True),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
    )
    op.add_column("conversations", sa.Column("assignment_due_at", TS, nullable=True))
    op.add_column("conversations", sa.Column("assigned_at", TS, nullable=True))
    op.create_index(
        "ix_conversations_assignment_due",
        "conversations",
        ["assignment_due_at"],
        postgresql_where=sa.text("assignment_due_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_conversations_assignment_due", table_name="conversations")
    op.drop_column("conversations", "assigned_at")
    op.drop_column("conversations", "assignment_due_at")
    op.drop_table("assignment_cursors")
