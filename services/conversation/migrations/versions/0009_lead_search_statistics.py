"""Finer statistics for the leads' name and phone, which the dashboard's text search filters on.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26

A search such as "7499" matches a few dozen of 100,000 leads. Postgres estimates LIKE '%…%' from the
column's histogram: with the default 100 entries, one entry that happens to contain the digits makes
the estimate 1 % (1,000 rows), and the planner then walks the tenant's activity index filtering every
row (50-120 ms at 100,000 leads) instead of reading the trigram indexes (about 5 ms). With 1,000
entries such an estimate is 0.1 %, and the search (repository_leads) prices its filters as what they
are; together the trigram path is taken. ANALYZE reads up to 300,000 rows per table for these two
columns instead of 30,000.
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TARGET = 1000


def upgrade() -> None:
    op.execute(
        f"ALTER TABLE conversation.leads ALTER COLUMN name SET STATISTICS {TARGET},"
        f" ALTER COLUMN phone SET STATISTICS {TARGET}"
    )
    op.execute("ANALYZE conversation.leads")


def downgrade() -> None:
    op.execute(
        "ALTER TABLE conversation.leads ALTER COLUMN name SET STATISTICS -1,"
        " ALTER COLUMN phone SET STATISTICS -1"
    )
