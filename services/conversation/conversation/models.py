"""Tables of the ``conversation`` schema (created by migrations, never by create_all)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    metadata = MetaData(schema="conversation")


class Lead(Base):
    __tablename__ = "leads"
    __table_args__ = (UniqueConstraint("tenant_id", "phone", name="uq_leads_tenant_phone"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    # The sender as the provider gave it: E.164 when known, else a provider-scoped id (@lid).
    phone: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(30), default="new")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_message_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    assigned_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    notes: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # The lead sent an opt-out word: no automatic message until an opt-in word.
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("tenant_id", "lead_id", name="uq_conversations_tenant_lead"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    channel_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    owner: Mapped[str] = mapped_column(String(10), default="ai")
    # Bumped on every ownership change so writers can compare-and-set.
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_inbound_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The human owner; NULL for ai/nobody, and for a human answering from the business phone.
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    owner_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the assignment sweeper looks again: handoff (assign now) or the pick-up deadline (0004).
    assignment_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        # The exactly-once guarantee: a provider retry cannot store the same message twice.
        Index("uq_messages_provider_external", "tenant_id", "provider", "external_id", unique=True),
        Index("ix_messages_lead_page", "tenant_id", "lead_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(20))
    provider: Mapped[str] = mapped_column(String(30))
    # NULL for an outbound message until the provider gives it an id (RecordOutboundSent).
    external_id: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text, default="")
    media: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    location: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    reply_id: Mapped[str] = mapped_column(Text, default="")
    raw: Mapped[Any] = mapped_column(JSONB)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Delivery status of an outbound message; only ever moves forward (domain.STATUS_RANK).
    status: Mapped[str | None] = mapped_column(String(20))
    status_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    auto_reply_blocked: Mapped[str | None] = mapped_column(String(40))
    # Stored for sending but not yet handed to notify (the sweeper re-sends these).
    notify_pending: Mapped[bool] = mapped_column(Boolean, default=False)


class MessageStatusEvent(Base):
    __tablename__ = "message_status_events"
    __table_args__ = (
        Index("uq_status_events_once", "tenant_id", "provider", "provider_message_id", "status", unique=True),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    message_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(30))
    provider_message_id: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[str] = mapped_column(Text, default="")
    error_title: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ConversationEvent(Base):
    """The lead's timeline: takeovers, handoffs and other things that happened to the conversation."""

    __tablename__ = "conversation_events"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    message_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(Text, default="")
    # For owner_changed events: the new owner and the human's id.
    owner: Mapped[str | None] = mapped_column(String(10))
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TenantDayCounter(Base):
    __tablename__ = "tenant_day_counters"

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    # The day in America/Sao_Paulo.
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    new_leads: Mapped[int] = mapped_column(Integer, default=0)


class ReplyJob(Base):
    """The outbox of automatic replies: one pending job per conversation (migration 0003)."""

    __tablename__ = "reply_jobs"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    run_after: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    burst_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_by: Mapped[str | None] = mapped_column(Text)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(40))
    traceparent: Mapped[str] = mapped_column(Text, default="")
    tracestate: Mapped[str] = mapped_column(Text, default="")
    last_message_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    covered_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fallback_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LeadProfile(Base):
    """The lead's qualification as the AI last returned it: fields with evidence, score and reasons."""

    __tablename__ = "lead_profiles"

    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    score: Mapped[int] = mapped_column(Integer, default=0)
    score_reasons: Mapped[list[str]] = mapped_column(JSONB, default=list)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AssignmentCursor(Base):
    """The tenant's round-robin position: the seller chosen last (migration 0004)."""

    __tablename__ = "assignment_cursors"

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    last_user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
