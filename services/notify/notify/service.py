"""Use cases of the notify context. They run inside the caller's transaction and never commit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from notify import errors
from notify.repository import DeliveryRepository


@dataclass(frozen=True)
class Queued:
    delivery_id: str
    status: str
    created: bool


def parse_id(value: str, field: str) -> uuid.UUID:
    if not value:
        raise errors.MissingField(field)
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError):
        raise errors.NotAUuid(field, value) from None


def _required(value: str, field: str) -> str:
    # Postgres text cannot hold NUL.
    cleaned = value.replace("\x00", "")
    if not cleaned.strip():
        raise errors.MissingField(field)
    return cleaned


async def send_message(
    session: AsyncSession, *, tenant_id: str, message_id: str, channel_id: str, recipient: str, text: str
) -> Queued:
    """Queue one outbound message; a repeated call for the same message id returns the first delivery."""
    tenant, message = parse_id(tenant_id, "tenant_id"), parse_id(message_id, "message_id")
    values = {
        "tenant_id": tenant,
        "message_id": message,
        # Empty means "the tenant's default channel", resolved when the message is sent.
        "channel_id": parse_id(channel_id, "channel_id") if channel_id else None,
        "recipient": _required(recipient, "recipient").strip(),
        "text": _required(text, "text"),
    }
    deliveries = DeliveryRepository(session)
    inserted = await deliveries.insert_once(values)
    if inserted is not None:
        return Queued(str(inserted[0]), inserted[1], created=True)
    existing_id, status = await deliveries.by_message_id(tenant, message)
    return Queued(str(existing_id), status, created=False)
