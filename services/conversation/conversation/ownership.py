"""Who answers a conversation (issue 6.1): take over, return to AI, a seller's reply, the timeline.

Every change of owner bumps the conversation's version (the reply worker compares it right before the
AI speaks) and is stored as an owner_changed event with its reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from conversation import authz, errors
from conversation import events as live
from conversation.domain import (
    OWNER_CHANGED,
    RETURN_TO_AI,
    SELLER_MESSAGE,
    TAKEOVER,
    Outgoing,
    window_open,
)
from conversation.leads import _visible_lead
from conversation.models import Conversation, ConversationEvent, Lead, LeadProfile, Message
from conversation.repository import EventRepository, LeadRepository, MessageRepository
from conversation.repository_jobs import (
    OutboxRepository,
    OwnershipRepository,
    ProfileRepository,
    ReplyJobRepository,
)

MAX_TEXT = 4096


@dataclass(frozen=True)
class LeadDetail:
    lead: Lead
    conversation: Conversation | None
    profile: LeadProfile | None


async def change_owner(
    session: AsyncSession,
    conversation: Conversation,
    owner: str,
    user_id: uuid.UUID | None,
    reason: str,
    *,
    actor: str,
    message_id: uuid.UUID | None = None,
    detail: str = "",
) -> None:
    """Move the conversation to `owner` with its event; a human owner also cancels pending AI replies."""
    tenant = conversation.tenant_id
    await OwnershipRepository(session).set_owner(tenant, conversation.id, owner, user_id)
    if owner != "ai":
        await ReplyJobRepository(session).cancel_pending(tenant, conversation.id, f"owner_{owner}")
    await live.publish(session, live.OWNER_CHANGED, tenant, conversation.lead_id)
    await EventRepository(session).add(
        tenant,
        conversation.id,
        OWNER_CHANGED,
        message_id=message_id,
        reason=reason,
        actor=actor,
        owner=owner,
        owner_user_id=user_id,
        detail=detail,
    )


async def _conversation(session: AsyncSession, lead: Lead) -> Conversation:
    conversation = await OwnershipRepository(session).by_lead(lead.tenant_id, lead.id, lock=True)
    if conversation is None:
        raise errors.NoConversation()
    return conversation


async def detail(session: AsyncSession, lead: Lead) -> LeadDetail:
    conversation = await OwnershipRepository(session).by_lead(lead.tenant_id, lead.id)
    profile = await ProfileRepository(session).get(lead.tenant_id, lead.id)
    return LeadDetail(lead, conversation, profile)


async def take_over(session: AsyncSession, tenant_id: str, lead_id: str) -> LeadDetail:
    actor = authz.require_person()
    lead = await _visible_lead(session, tenant_id, lead_id)
    conversation = await _conversation(session, lead)
    if not (conversation.owner == "human" and conversation.owner_user_id == actor):
        await change_owner(session, conversation, "human", actor, TAKEOVER, actor=str(actor))
    return await detail(session, lead)


async def return_to_ai(session: AsyncSession, tenant_id: str, lead_id: str) -> LeadDetail:
    actor = authz.require_person()
    lead = await _visible_lead(session, tenant_id, lead_id)
    conversation = await _conversation(session, lead)
    if conversation.owner != "ai":
        await change_owner(session, conversation, "ai", None, RETURN_TO_AI, actor=str(actor))
    return await detail(session, lead)


async def send_human_message(
    session: AsyncSession, tenant_id: str, lead_id: str, text: str
) -> tuple[Message, Outgoing]:
    """Store a seller's reply for sending; the conversation becomes theirs. Refused for opted-out leads."""
    actor = authz.require_person()
    body = text.replace("\x00", "").strip()
    if not body:
        raise errors.MissingField("text")
    if len(body) > MAX_TEXT:
        raise errors.TooLong("text", MAX_TEXT)
    lead = await _visible_lead(session, tenant_id, lead_id, lock=True)
    if lead.opted_out:
        raise errors.LeadOptedOut()
    conversation = await _conversation(session, lead)
    message_id = uuid.uuid4()
    await OutboxRepository(session).add(
        {
            "id": message_id,
            "tenant_id": lead.tenant_id,
            "lead_id": lead.id,
            "conversation_id": conversation.id,
            "direction": "outbound_human",
            "provider": "",
            "kind": "text",
            "text": body,
            "status": "queued",
            "status_at": datetime.now(UTC),
            "raw": {"sent_by": str(actor)},
        }
    )
    await LeadRepository(session).count_message(lead.tenant_id, lead.id, datetime.now(UTC))
    if not (conversation.owner == "human" and conversation.owner_user_id == actor):
        await change_owner(
            session, conversation, "human", actor, SELLER_MESSAGE, actor=str(actor), message_id=message_id
        )
    await live.publish(session, live.MESSAGE_SENT, lead.tenant_id, lead.id)
    stored = await MessageRepository(session).get(lead.tenant_id, message_id)
    assert stored is not None  # inserted above in this transaction
    now = datetime.now(UTC)
    outgoing = Outgoing(
        lead.tenant_id,
        message_id,
        lead.phone,
        body,
        conversation.channel_id,
        window_open(conversation.last_inbound_at, now),
    )
    return stored, outgoing


async def list_events(session: AsyncSession, tenant_id: str, lead_id: str) -> Sequence[ConversationEvent]:
    lead = await _visible_lead(session, tenant_id, lead_id)
    conversation = await OwnershipRepository(session).by_lead(lead.tenant_id, lead.id)
    if conversation is None:
        return []
    return await OwnershipRepository(session).events(lead.tenant_id, conversation.id)
