"""Tables for settings (channel secrets, AI settings versions) and the product catalog."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Computed,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from tenant.models import Base, Channel

# Migration 0003 adds these columns to tenant.channels. models.Channel (the webhook-routing view,
# owned by the tenant core) keeps its columns; ChannelConfig maps the whole row for settings.
channels_table: Table = Table(
    "channels",
    Base.metadata,
    Column("name", String(100), nullable=False, server_default=""),
    Column("secrets_encrypted", Text, nullable=True),
    Column("webhook_token_encrypted", Text, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    extend_existing=True,
)
assert channels_table is Channel.__table__


class ChannelConfig(Base):
    __table__ = channels_table

    id: Mapped[uuid.UUID]
    tenant_id: Mapped[uuid.UUID]
    provider: Mapped[str]
    external_id: Mapped[str]
    phone_number: Mapped[str]
    webhook_token_hash: Mapped[str]
    active: Mapped[bool]
    created_at: Mapped[datetime]
    name: Mapped[str]
    secrets_encrypted: Mapped[str | None]
    webhook_token_encrypted: Mapped[str | None]
    updated_at: Mapped[datetime]


class AiSettingsVersion(Base):
    """Every change of a tenant's AI settings is a new row; the current settings are the latest."""

    __tablename__ = "ai_settings_versions"
    __table_args__ = (UniqueConstraint("tenant_id", "version", name="uq_ai_settings_versions"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[str] = mapped_column(String(64), default="")
    actor_email: Mapped[str] = mapped_column(String(320), default="")
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB)
    rolled_back_from: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


SEARCH_VECTOR = (
    "setweight(to_tsvector('portuguese'::regconfig, search_title), 'A') || "
    "setweight(to_tsvector('portuguese'::regconfig, search_body), 'B')"
)


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("tenant_id", "code_key", name="uq_products_tenant_code"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(50))
    # Upper-case letters and digits only: "ap-1234", "AP 1234" and "AP1234" are one listing.
    code_key: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(300))
    type: Mapped[str] = mapped_column(String(50), default="")
    purpose: Mapped[str] = mapped_column(String(10), default="")
    price_cents: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    condo_fee_cents: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    area_m2: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), nullable=True)
    bedrooms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    suites: Mapped[int | None] = mapped_column(Integer, nullable=True)
    parking_spots: Mapped[int | None] = mapped_column(Integer, nullable=True)
    neighbourhood: Mapped[str] = mapped_column(String(120), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    photo_urls: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    listing_url: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="available")
    trigger_keywords: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    seller_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    # Accent-folded, lower-cased copies for filters, trigger matching and full-text search.
    type_norm: Mapped[str] = mapped_column(String(50), default="")
    city_norm: Mapped[str] = mapped_column(String(120), default="")
    neighbourhood_norm: Mapped[str] = mapped_column(String(120), default="")
    keywords_norm: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    search_title: Mapped[str] = mapped_column(Text, default="")
    search_body: Mapped[str] = mapped_column(Text, default="")
    search_vector: Mapped[str] = mapped_column(TSVECTOR, Computed(SEARCH_VECTOR, persisted=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
