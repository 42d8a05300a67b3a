"""The sender: claims, retries, provider ids, status events, attempts, push subscriptions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
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
TZ = sa.DateTime(timezone=True)


def _delivery_columns() -> None:
    op.add_column("deliveries", sa.Column("provider", sa.String(20)))
    op.add_column("deliveries", sa.Column("error_code", sa.Text))
    op.add_column(
        "deliveries", sa.Column("source", sa.String(20), nullable=False, server_default="conversation")
    )
    op.add_column("deliveries", sa.Column("window_open", sa.Boolean, nullable=False, server_default="true"))
    op.add_column("deliveries", sa.Column("template_name", sa.Text))
    op.add_column("deliveries", sa.Column("template_language", sa.Text))
    op.add_column(
        "deliveries",
        sa.Column("template_params", postgresql.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    )
    op.add_column("deliveries", sa.Column("sent_template", sa.Text))
    op.add_column(
        "deliveries", sa.Column("next_attempt_at", TZ, nullable=False, server_default=sa.func.now())
    )
    op.add_column("deliveries", sa.Column("claim_token", UUID))
    op.add_column("deliveries", sa.Column("lease_until", TZ))
    op.add_column("deliveries", sa.Column("sent_at", TZ))
    # W3C trace context of the SendMessage call, so the asynchronous send joins the reply's trace.
    op.add_column("deliveries", sa.Column("traceparent", sa.Text))


def _delivery_indexes() -> None:
    op.drop_index("ix_deliveries_queued", table_name="deliveries")
    # The sender's claim scans due queued work only.
    op.create_index(
        "ix_deliveries_due", "deliveries", ["next_attempt_at"], postgresql_where=sa.text("status = 'queued'")
    )
    # Status webhooks find the delivery by the provider's id.
    op.create_index(
        "ix_deliveries_provider_message",
        "deliveries",
        ["tenant_id", "provider", "provider_message_id"],
        postgresql_where=sa.text("provider_message_id IS NOT NULL"),
    )
    op.create_index(
        "ix_deliveries_tenant_status", "deliveries", ["tenant_id", "status", sa.text("updated_at DESC"), "id"]
    )


def _tables() -> None:
    op.create_table(
        "delivery_attempts",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("delivery_id", UUID, nullable=False, index=True),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("http_status", sa.Integer),
        sa.Column("error", sa.Text),
        sa.Column("duration_ms", sa.Integer, nullable=False),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "delivery_status_events",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("delivery_id", UUID, nullable=False),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error_code", sa.Text),
        sa.Column("error_title", sa.Text),
        sa.Column("at", TZ),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("delivery_id", "status", name="uq_status_events_delivery_status"),
    )
    op.create_table(
        "push_subscriptions",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("user_id", UUID, nullable=False),
        sa.Column("endpoint", sa.Text, nullable=False),
        sa.Column("p256dh", sa.Text, nullable=False),
        sa.Column("auth", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("last_success_at", TZ),
        sa.UniqueConstraint("endpoint", name="uq_push_subscriptions_endpoint"),
    )
    op.create_index("ix_push_subscriptions_user", "push_subscriptions", ["tenant_id", "user_id"])
    op.create_table(
        "user_notifications",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("user_id", UUID, nullable=False),
        sa.Column("notification_id", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("tenant_id", "user_id", "notification_id", name="uq_user_notifications_key"),
    )


def upgrade() -> None:
    _delivery_columns()
    _delivery_indexes()
    _tables()


def downgrade() -> None:
    for table in ("user_notifications", "push_subscriptions", "delivery_status_events", "delivery_attempts"):
        op.drop_table(table)
    for index in ("ix_deliveries_tenant_status", "ix_deliveries_provider_message", "ix_deliveries_due"):
        op.drop_index(index, table_name="deliveries")
    for column in (
        "traceparent", "sent_at", "lease_until", "claim_token", "next_attempt_at", "sent_template",
        "template_params", "template_language", "template_name", "window_open", "source", "error_code",
        "provider",
    ):  # fmt: skip
        op.drop_column("deliveries", column)
    op.create_index(
        "ix_deliveries_queued", "deliveries", ["created_at"], postgresql_where=sa.text("status = 'queued'")
    )
