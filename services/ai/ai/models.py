"""Tables of the ``ai`` schema (created by migrations, never by create_all)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, Index, Integer, MetaData, Numeric, String, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    metadata = MetaData(schema="ai")


class Call(Base):
    """One GenerateReply: what answered, how long it took and what it cost in tokens."""

    __tablename__ = "calls"
    __table_args__ = (Index("ix_calls_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    # Empty for the dashboard's simulator, which answers without a stored lead.
    lead_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # The reply job this call ran for and which run of it: "why no answer" starts here.
    job_id: Mapped[str | None] = mapped_column(String(100))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    model: Mapped[str] = mapped_column(String(100))
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20))
    # Estimated USD; NULL when the model has no known price (never a made-up number).
    cost_usd: Mapped[Decimal | None] = mapped_column(Numeric(14, 8))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
