"""Tables of the ``ai`` schema (created by migrations, never by create_all)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, DateTime, Index, Integer, MetaData, Numeric, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
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
    # The dashboard's simulator: real tokens and cost, but no lead; usage reports tell them apart.
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SimulatorCase(Base):
    """A saved test conversation and what its reply is expected to do."""

    __tablename__ = "simulator_cases"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_simulator_cases_tenant_name"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    name: Mapped[str] = mapped_column(String(100))
    lead_name: Mapped[str] = mapped_column(String(100), default="")
    # [{"role": "lead" | "assistant", "text": ...}], oldest first.
    messages: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    # [{"name", "value", "evidence", "confidence"}]: what is known of the lead before the reply.
    profile: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    expectations: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class SimulatorRun(Base):
    """One re-run of saved cases: kept so results before and after a prompt change can be compared."""

    __tablename__ = "simulator_runs"
    __table_args__ = (Index("ix_simulator_runs_tenant_started", "tenant_id", "started_at"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    settings_version: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    passed: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)
    # [{"case_id", "name", "passed", "checks": [...], "reply_text", "score", "handoff", "outcome", "profile"}]
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
