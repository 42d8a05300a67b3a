"""Use cases of the conversation context. They run inside the caller's transaction and never commit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from conversation import errors
from conversation.domain import Inbound, Ingested, clean, raw_payload
from conversation.models import Lead
from conversation.repository import ConversationRepository, LeadRepository, MessageRepository


def parse_id(value: str, field: str) -> uuid.UUID:
    if not value:
        raise errors.MissingField(field)
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError):
        raise errors.NotAUuid(field, value) from None


def _validate(message: Inbound) -> uuid.UUID | None:
    for field in ("provider", "external_id", "sender"):
        if not clean(getattr(message, field)):
            raise errors.MissingField(f"message.{field}")
    return parse_id(message.channel_id, "message.channel_id") if message.channel_id else None


def _message_row(
    tenant_id: uuid.UUID, lead_id: uuid.UUID, conversation_id: uuid.UUID, m: Inbound
) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "lead_id": lead_id,
        "conversation_id": conversation_id,
        "direction": m.direction,
        "provider": clean(m.provider),
        "external_id": clean(m.external_id),
        "kind": m.kind,
        "text": m.text.replace("\x00", ""),
        "media": m.media,
        "location": m.location,
        "reply_id": clean(m.reply_id),
        "raw": raw_payload(m.raw_json),
        "sent_at": m.sent_at,
    }


async def ingest_inbound(session: AsyncSession, tenant_id: str, message: Inbound) -> Ingested:
    """Store one provider message exactly once, creating the lead and its conversation on first contact."""
    tenant = parse_id(tenant_id, "tenant_id")
    channel_id = _validate(message)
    lead_id, lead_created = await LeadRepository(session).upsert(
        tenant, clean(message.sender), clean(message.sender_name)
    )
    conversations = ConversationRepository(session)
    conversation_id = await conversations.upsert(tenant, lead_id, channel_id)
    messages = MessageRepository(session)
    message_id = await messages.insert_once(_message_row(tenant, lead_id, conversation_id, message))
    if message_id is None:
        existing_id, existing_lead = await messages.by_external_id(
            tenant, clean(message.provider), clean(message.external_id)
        )
        return Ingested(str(existing_lead), str(existing_id), created=False, lead_created=lead_created)
    at = message.sent_at or datetime.now(UTC)
    await LeadRepository(session).count_message(tenant, lead_id, at)
    if message.direction == "inbound":
        await conversations.touch_inbound(tenant, conversation_id, at)
    return Ingested(str(lead_id), str(message_id), created=True, lead_created=lead_created)


async def get_lead(session: AsyncSession, tenant_id: str, lead_id: str) -> Lead:
    lead = await LeadRepository(session).get(parse_id(tenant_id, "tenant_id"), parse_id(lead_id, "lead_id"))
    if lead is None:
        raise errors.LeadNotFound()
    return lead
