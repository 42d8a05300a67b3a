"""Tables of the ``notify`` schema (created by migrations, never by create_all)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Integer, MetaData, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

STATUSES = ("queued", "sent", "delivered", "read", "failed", "dead")
# A provider status only ever moves a delivery forward along this order.
PROGRESS = {"queued": 0, "sent": 1, "delivered": 2, "read": 3}


class Base(DeclarativeBase):
    metadata = MetaData(schema="notify")


class Delivery(Base):
    """One outbound WhatsApp message and its way to the lead's phone."""

    __tablename__ = "deliveries"
    # The idempotency key: a retried SendMessage never queues the same message twice.
    __table_args__ = (UniqueConstraint("tenant_id", "message_id", name="uq_deliveries_tenant_message"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    message_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    channel_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    recipient: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider: Mapped[str | None] = mapped_column(String(20))
    provider_message_id: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(Text)
    # "conversation" deliveries are reported back to the conversation service once sent.
    source: Mapped[str] = mapped_column(String(20), default="conversation")
    window_open: Mapped[bool] = mapped_column(Boolean, default=True)
    template_name: Mapped[str | None] = mapped_column(Text)
    template_language: Mapped[str | None] = mapped_column(Text)
    template_params: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    # Set when the message went out as the template (outside the 24-hour window).
    sent_template: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # A worker's claim: only the holder of claim_token may record the attempt's outcome.
    claim_token: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # W3C trace context of the SendMessage call, so the asynchronous send joins the reply's trace.
    traceparent: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class DeliveryAttempt(Base):
    """One HTTP call to a provider and how it ended."""

    __tablename__ = "delivery_attempts"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    delivery_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    attempt: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20))
    http_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class StatusEvent(Base):
    """A provider status webhook, stored once per (delivery, status)."""

    __tablename__ = "delivery_status_events"
    __table_args__ = (UniqueConstraint("delivery_id", "status", name="uq_status_events_delivery_status"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    delivery_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[str | None] = mapped_column(Text)
    error_title: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PushSubscription(Base):
    """A browser's web-push subscription for one dashboard user."""

    __tablename__ = "push_subscriptions"
    # One browser endpoint belongs to whoever registered it last.
    __table_args__ = (UniqueConstraint("endpoint", name="uq_push_subscriptions_endpoint"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    endpoint: Mapped[str] = mapped_column(Text)
    p256dh: Mapped[str] = mapped_column(Text)
    auth: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UserNotification(Base):
    """Which notification ids a user was already sent, so a repeated NotifyUser notifies nobody twice."""

    __tablename__ = "user_notifications"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id", "notification_id", name="uq_user_notifications_key"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    notification_id: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
