"""Channel secrets and names, AI settings versions, product catalog.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from tenant.models_catalog import SEARCH_VECTOR

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _tenant_fk() -> sa.Column:
    return sa.Column(
        "tenant_id",
        postgresql.UUID(as_uuid=True),
        sa.ForeignKey("tenants.id", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    op.add_column("channels", sa.Column("name", sa.String(100), nullable=False, server_default=""))
    op.add_column("channels", sa.Column("secrets_encrypted", sa.Text, nullable=True))
    op.add_column("channels", sa.Column("webhook_token_encrypted", sa.Text, nullable=True))
    op.add_column("channels", sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()))
    op.create_table(
        "ai_settings_versions",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        _tenant_fk(),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("actor_email", sa.String(320), nullable=False, server_default=""),
        sa.Column("settings", postgresql.JSONB, nullable=False),
        sa.Column("rolled_back_from", sa.Integer, nullable=True),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("tenant_id", "version", name="uq_ai_settings_versions"),
        sa.CheckConstraint("version > 0", name="ck_ai_settings_versions_version"),
    )
    _create_products()


def _create_products() -> None:
    text_array = postgresql.ARRAY(sa.Text)
    op.create_table(
        "products",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        _tenant_fk(),
        sa.Column("code", sa.String(50), nullable=False),
        sa.Column("code_key", sa.String(50), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("type", sa.String(50), nullable=False, server_default=""),
        sa.Column("purpose", sa.String(10), nullable=False, server_default=""),
        sa.Column("price_cents", sa.BigInteger, nullable=True),
        sa.Column("condo_fee_cents", sa.BigInteger, nullable=True),
        sa.Column("area_m2", sa.Numeric(12, 2), nullable=True),
        sa.Column("bedrooms", sa.Integer, nullable=True),
        sa.Column("suites", sa.Integer, nullable=True),
        sa.Column("parking_spots", sa.Integer, nullable=True),
        sa.Column("neighbourhood", sa.String(120), nullable=False, server_default=""),
        sa.Column("city", sa.String(120), nullable=False, server_default=""),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("photo_urls", text_array, nullable=False, server_default="{}"),
        sa.Column("listing_url", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.String(20), nullable=False, server_default="available"),
        sa.Column("trigger_keywords", text_array, nullable=False, server_default="{}"),
        sa.Column("seller_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("type_norm", sa.String(50), nullable=False, server_default=""),
        sa.Column("city_norm", sa.String(120), nullable=False, server_default=""),
        sa.Column("neighbourhood_norm", sa.String(120), nullable=False, server_default=""),
        sa.Column("keywords_norm", text_array, nullable=False, server_default="{}"),
        sa.Column("search_title", sa.Text, nullable=False, server_default=""),
        sa.Column("search_body", sa.Text, nullable=False, server_default=""),
        sa.Column("search_vector", postgresql.TSVECTOR, sa.Computed(SEARCH_VECTOR, persisted=True)),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("tenant_id", "code_key", name="uq_products_tenant_code"),
        sa.CheckConstraint("purpose IN ('', 'sale', 'rent')", name="ck_products_purpose"),
        sa.CheckConstraint(
            "status IN ('available', 'reserved', 'sold', 'rented', 'inactive')", name="ck_products_status"
        ),
    )
    op.create_index("ix_products_tenant_status", "products", ["tenant_id", "status"])
    op.create_index("ix_products_search", "products", ["search_vector"], postgresql_using="gin")
    op.create_index("ix_products_keywords", "products", ["keywords_norm"], postgresql_using="gin")


def downgrade() -> None:
    op.drop_table("products")
    op.drop_table("ai_settings_versions")
    for column in ("updated_at", "webhook_token_encrypted", "secrets_encrypted", "name"):
        op.drop_column("channels", column)
