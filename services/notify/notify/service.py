"""Use cases of the notify context. They run inside the caller's transaction and never commit."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from kit.errors import parse_id
from notify import errors
from notify.models import PROGRESS, Delivery, PushSubscription
from notify.providers import PROVIDERS
from notify.repository import DeliveryRepository, PushRepository, SendPathRepository

MAX_PAGE = 200
DEFAULT_PAGE = 50


@dataclass(frozen=True)
class Queued:
    delivery: Delivery
    created: bool

    @property
    def delivery_id(self) -> str:
        return str(self.delivery.id)

    @property
    def status(self) -> str:
        return self.delivery.status


@dataclass(frozen=True)
class Outbound:
    tenant_id: str
    message_id: str
    channel_id: str
    recipient: str
    text: str
    window_open: bool = True
    template_name: str = ""
    template_language: str = ""
    template_params: list[str] = field(default_factory=list)
    source: str = "conversation"
    traceparent: str = ""


def _required(value: str, field: str) -> str:
    # Postgres text cannot hold NUL.
    cleaned = value.replace("\x00", "")
    if not cleaned.strip():
        raise errors.MissingField(field)
    return cleaned


def _outbound_values(out: Outbound) -> dict[str, Any]:
    """The delivery row of one outbound message, checked."""
    return {
        "tenant_id": parse_id(out.tenant_id, "tenant_id"),
        "message_id": parse_id(out.message_id, "message_id"),
        # Empty means "the tenant's default channel", resolved when the message is sent.
        "channel_id": parse_id(out.channel_id, "channel_id") if out.channel_id else None,
        "recipient": _required(out.recipient, "recipient").strip(),
        "text": _required(out.text, "text"),
        "window_open": out.window_open,
        "template_name": out.template_name.strip() or None,
        "template_language": out.template_language.strip()
        or ("pt_BR" if out.template_name.strip() else None),
        "template_params": [p.replace("\x00", "") for p in out.template_params],
        "source": out.source,
        "traceparent": out.traceparent or None,
    }


async def send_message(
    connection: AsyncConnection, out: Outbound, lease_to: uuid.UUID | None = None, lease_seconds: float = 0.0
) -> Queued:
    """Queue one outbound message in a statement that commits alone (`connection` is outside any
    transaction); a repeated call for the same message id returns the first delivery.
    With `lease_to` a new delivery is born claimed by that token (its sender sends it at once)."""
    return await _queue(SendPathRepository(connection), out, lease_to, lease_seconds)


async def queue_message(session: AsyncSession, out: Outbound) -> Queued:
    """send_message inside the caller's transaction, for a use case that writes more than the delivery."""
    return await _queue(DeliveryRepository(session), out)


async def _queue(
    deliveries: SendPathRepository | DeliveryRepository, out: Outbound, lease_to: uuid.UUID | None = None,
    lease_seconds: float = 0.0,
) -> Queued:  # fmt: skip
    values = _outbound_values(out)
    inserted = await deliveries.insert_once(values, lease_to, lease_seconds)
    if inserted is not None:
        return Queued(inserted, created=True)
    return Queued(await deliveries.by_message_id(values["tenant_id"], values["message_id"]), created=False)


async def get_delivery(session: AsyncSession, tenant_id: str, delivery_id: str) -> Delivery:
    found = await DeliveryRepository(session).get(
        parse_id(tenant_id, "tenant_id"), parse_id(delivery_id, "delivery_id")
    )
    if found is None:
        raise errors.DeliveryNotFound(delivery_id)
    return found


def encode_cursor(delivery: Delivery) -> str:
    raw = f"{delivery.updated_at.isoformat()}|{delivery.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, last = raw.partition("|")
        return datetime.fromisoformat(at), uuid.UUID(last)
    except (ValueError, UnicodeDecodeError):
        raise errors.BadField("cursor", "is not a cursor this service returned") from None


def _page_size(value: int) -> int:
    if value < 0:
        raise errors.BadField("page_size", "must not be negative")
    return min(value or DEFAULT_PAGE, MAX_PAGE)


async def list_deliveries(
    session: AsyncSession, tenant_id: str, *, statuses: tuple[str, ...], cursor: str, page_size: int,
    message_id: str = "",
) -> tuple[list[Delivery], str]:  # fmt: skip
    limit = _page_size(page_size)
    rows = await DeliveryRepository(session).page(
        parse_id(tenant_id, "tenant_id"),
        statuses=statuses,
        after=decode_cursor(cursor),
        limit=limit + 1,
        message_id=parse_id(message_id, "message_id") if message_id else None,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]) if more and rows else ""


async def replay_delivery(session: AsyncSession, tenant_id: str, delivery_id: str) -> Delivery:
    tenant, delivery = parse_id(tenant_id, "tenant_id"), parse_id(delivery_id, "delivery_id")
    deliveries = DeliveryRepository(session)
    requeued = await deliveries.requeue(tenant, delivery)
    if requeued is not None:
        return requeued
    existing = await deliveries.get(tenant, delivery)
    if existing is None:
        raise errors.DeliveryNotFound(delivery_id)
    raise errors.NotReplayable(delivery_id, existing.status)


@dataclass(frozen=True)
class StatusUpdate:
    tenant_id: str
    provider: str
    provider_message_id: str
    status: str
    error_code: str = ""
    error_title: str = ""
    at: datetime | None = None


def _next_status(current: str, reported: str) -> str | None:
    """The delivery's new status for a reported one, or None to keep it (never backwards)."""
    if reported == "failed":
        # A late "failed" after the phone confirmed delivery is noise; before that it is the truth.
        return "failed" if PROGRESS.get(current, 99) < PROGRESS["delivered"] else None
    if current in PROGRESS and PROGRESS[reported] > PROGRESS[current]:
        return reported
    return None


async def record_provider_status(session: AsyncSession, update: StatusUpdate) -> tuple[Delivery | None, bool]:
    """(delivery, newly recorded); (None, False) when no delivery has this provider id."""
    if update.provider not in PROVIDERS:
        raise errors.BadField("provider", f"must be one of {', '.join(PROVIDERS)}")
    if update.status not in ("sent", "delivered", "read", "failed"):
        raise errors.BadField("status", "must be sent, delivered, read or failed")
    pmid = _required(update.provider_message_id, "provider_message_id").strip()
    deliveries = DeliveryRepository(session)
    delivery = await deliveries.by_provider_id(parse_id(update.tenant_id, "tenant_id"), update.provider, pmid)
    if delivery is None:
        return None, False
    event = {
        "delivery_id": delivery.id, "tenant_id": delivery.tenant_id, "status": update.status,
        "error_code": update.error_code or None, "error_title": update.error_title or None, "at": update.at,
    }  # fmt: skip
    recorded = await deliveries.add_status_event(event)
    new = _next_status(delivery.status, update.status)
    if recorded and new is not None:
        values: dict[str, object] = {"status": new}
        if new == "failed":
            values |= {"error_code": update.error_code or None, "last_error": update.error_title or "failed"}
        await deliveries.set_status(delivery, values)
        await session.refresh(delivery)
    return delivery, recorded


async def register_push(
    session: AsyncSession, tenant_id: str, user_id: str, endpoint: str, p256dh: str, auth: str
) -> PushSubscription:
    endpoint = _required(endpoint, "endpoint").strip()
    if not endpoint.startswith(("https://", "http://")) or len(endpoint) > 2000:
        raise errors.BadField("endpoint", "must be an http(s) URL of at most 2000 characters")
    values = {
        "tenant_id": parse_id(tenant_id, "tenant_id"),
        "user_id": parse_id(user_id, "user_id"),
        "endpoint": endpoint,
        "p256dh": _required(p256dh, "p256dh").strip(),
        "auth": _required(auth, "auth").strip(),
    }
    return await PushRepository(session).upsert(values)


async def delete_push(session: AsyncSession, tenant_id: str, user_id: str, endpoint: str) -> bool:
    return await PushRepository(session).delete(
        parse_id(tenant_id, "tenant_id"),
        parse_id(user_id, "user_id"),
        _required(endpoint, "endpoint").strip(),
    )
