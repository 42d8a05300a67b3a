"""Use cases of the conversation context. They run inside the caller's transaction and never commit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opentelemetry import propagate
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from conversation import authz, errors
from conversation import events as live
from conversation.domain import (
    HUMAN_FROM_PHONE,
    OWNER_CHANGED,
    STATUS_RANK,
    Debounce,
    Inbound,
    Ingested,
    Limits,
    StatusResult,
    StatusUpdate,
    blocked_reason,
    clean,
    is_opt_in,
    leads_level,
    raw_payload,
    raw_payload_text,
    soft_hits,
)
from conversation.models import Message
from conversation.repository import (
    ConversationRepository,
    DayCounterRepository,
    EventRepository,
    IngestRepository,
    IngestRow,
    LeadRepository,
    MessageRepository,
    StatusEventRepository,
    claim_external_ids,
    inbound_many_alone,
)
from conversation.repository_jobs import OutboxRepository, OwnershipRepository, ReplyJobRepository
from kit.errors import parse_id


def _validate(message: Inbound) -> uuid.UUID | None:
    for field in ("provider", "external_id", "sender"):
        if not clean(getattr(message, field)):
            raise errors.MissingField(f"message.{field}")
    return parse_id(message.channel_id, "message.channel_id") if message.channel_id else None


def _message_row(
    tenant_id: uuid.UUID, lead_id: uuid.UUID, conversation_id: uuid.UUID, m: Inbound
) -> dict[str, Any]:
    ids = {"tenant_id": tenant_id, "lead_id": lead_id, "conversation_id": conversation_id}
    return ids | {"direction": m.direction, "raw": raw_payload(m.raw_json)} | _message_content(m)


def _message_content(m: Inbound) -> dict[str, Any]:
    return {
        "provider": clean(m.provider),
        "external_id": clean(m.external_id),
        "kind": m.kind,
        "text": m.text.replace("\x00", ""),
        "media": m.media,
        "location": m.location,
        "reply_id": clean(m.reply_id),
        "sent_at": m.sent_at,
    }


async def ingest_inbound(
    session: AsyncSession,
    tenant_id: str,
    message: Inbound,
    limits: Limits | None = None,
    debounce: Debounce | None = None,
    carrier: dict[str, str] | None = None,
) -> Ingested:
    """Store one provider message exactly once, creating the lead and its conversation on first contact.

    The message is always stored; limits only decide whether it may get an automatic reply. Only
    inbound messages are flagged: the business's own messages never get one anyway. When the reply
    may be automatic, the conversation is the AI's and the lead has not opted out, the reply job is
    written in this same transaction (the outbox), carrying `carrier` (the webhook's trace context),
    else the current one.
    """
    item = lead_message(tenant_id, message, limits, debounce, carrier)
    if item is not None:
        return await _ingest_lead_message(session, item)
    limits = limits or Limits()
    tenant = parse_id(tenant_id, "tenant_id")
    channel_id = _validate(message)
    at = message.sent_at or datetime.now(UTC)
    lead_id, lead_created, opted_out = await LeadRepository(session).upsert(
        tenant, clean(message.sender), clean(message.sender_name), at
    )
    leads = "ok"
    if lead_created:
        count = await DayCounterRepository(session).add_new_lead(tenant)
        leads = leads_level(count, limits.new_leads_soft, limits.new_leads_hard)
    blocked = blocked_reason(limits, leads) if message.direction == "inbound" else ""
    conversations = ConversationRepository(session)
    conversation_id, owner = await conversations.upsert(tenant, lead_id, channel_id)
    echo = await _claim_echo(session, tenant, conversation_id, message) if message.from_me else None
    if echo is not None:
        # Our own send, echoed back by the provider: already stored, and no person took over.
        return Ingested(str(lead_id), str(echo), False, lead_created, str(conversation_id))
    row = _message_row(tenant, lead_id, conversation_id, message) | {"auto_reply_blocked": blocked or None}
    messages = MessageRepository(session)
    message_id = await messages.insert_once(row)
    hits = soft_hits(limits, leads)
    if message_id is None:
        existing = await messages.find(tenant, clean(message.provider), clean(message.external_id))
        assert existing is not None  # the insert conflicted with it in this very transaction
        return Ingested(
            str(existing.lead_id), str(existing.id), False, lead_created, str(existing.conversation_id)
        )
    await LeadRepository(session).count_message(tenant, lead_id, at)
    if lead_created:
        await live.publish(session, live.LEAD_CREATED, tenant, lead_id)
    if message.direction == "inbound":
        await conversations.touch_inbound(tenant, conversation_id, at)
        await live.publish(session, live.MESSAGE_RECEIVED, tenant, lead_id)
    else:
        await _human_from_phone(session, tenant, conversation_id, message_id, owner)
        await live.publish(session, live.MESSAGE_SENT, tenant, lead_id)
    auto_reply = message.direction == "inbound" and not blocked
    scheduled = auto_reply and owner == "ai" and (not opted_out or is_opt_in(message.text))
    if scheduled:
        if carrier is None:
            carrier = {}
            propagate.inject(carrier)
        await ReplyJobRepository(session).schedule(
            tenant, conversation_id, lead_id, message_id, debounce or Debounce(), carrier
        )
    return Ingested(
        str(lead_id),
        str(message_id),
        True,
        lead_created,
        str(conversation_id),
        auto_reply,
        blocked,
        hits,
        reply_scheduled=scheduled,
    )


@dataclass(frozen=True)
class LeadMessage:
    """A lead's own inbound message, validated and turned into conversation.ingest_inbound_many()'s
    parameters; `limits` stays for the soft-limit report."""

    tenant: uuid.UUID
    limits: Limits
    values: dict[str, Any]


def lead_message(
    tenant_id: str,
    message: Inbound,
    limits: Limits | None = None,
    debounce: Debounce | None = None,
    carrier: dict[str, str] | None = None,
) -> LeadMessage | None:
    """The message prepared for the one-round-trip path, or None when it takes the general path
    (the business's own messages: echoes and human takeover). Raises on invalid input."""
    authz.require_internal()
    limits = limits or Limits()
    tenant = parse_id(tenant_id, "tenant_id")
    channel_id = _validate(message)
    if message.from_me:
        return None
    debounce = debounce or Debounce()
    if carrier is None:
        carrier = {}
        propagate.inject(carrier)
    values = _message_content(message) | {
        "raw": raw_payload_text(message.raw_json),  # as text: the function casts it to jsonb
        "tenant_id": tenant,
        "phone": clean(message.sender),
        "name": clean(message.sender_name),
        "at": message.sent_at or datetime.now(UTC),
        "channel_id": channel_id,
        # The reasons that need no database state; the function adds the new-leads one.
        "blocked": blocked_reason(limits, "ok"),
        "leads_soft": limits.new_leads_soft,
        "leads_hard": limits.new_leads_hard,
        "is_opt_in": is_opt_in(message.text),
        "delay": float(debounce.seconds),
        "max_wait": float(debounce.max_wait),
        "traceparent": carrier.get("traceparent", ""),
        "tracestate": carrier.get("tracestate", ""),
    }
    return LeadMessage(tenant, limits, values)


async def ingest_lead_messages(session: AsyncSession, items: list[LeadMessage]) -> list[Ingested]:
    """Store many lead messages in one round trip (migration 0008), in the given order; only the
    live events are recorded here, after the function did the rest."""
    authz.require_internal()
    if not items:
        return []
    rows = await IngestRepository(session).inbound_many([item.values for item in items])
    return [await _ingested(session, item, row) for item, row in zip(items, rows, strict=True)]


async def ingest_lead_messages_alone(connection: AsyncConnection, items: list[LeadMessage]) -> list[Ingested]:
    """ingest_lead_messages as one statement on the raw driver that commits alone (IngestBatch); its
    live events are announced at once, since it has committed when it returns."""
    authz.require_internal()
    if not items:
        return []
    rows = await inbound_many_alone(connection, [item.values for item in items])
    done = [_ingested_row(item, row) for item, row in zip(items, rows, strict=True)]
    for item, row in zip(items, rows, strict=True):
        for kind in _events_of(row):
            live.committed(connection.engine, kind, item.tenant, row.lead_id)
    return done


async def _ingest_lead_message(session: AsyncSession, item: LeadMessage) -> Ingested:
    """The common path (a lead's own message) in one round trip: migration 0008's function applies
    the general path's rules above; only the live events are recorded here."""
    return await _ingested(session, item, await IngestRepository(session).inbound(item.values))


async def _ingested(session: AsyncSession, item: LeadMessage, done: IngestRow) -> Ingested:
    for kind in _events_of(done):
        await live.publish(session, kind, item.tenant, done.lead_id)
    return _ingested_row(item, done)


def _events_of(done: IngestRow) -> list[str]:
    """The live events of a stored lead message: none for a copy of one stored before."""
    if not done.created:
        return []
    return [live.LEAD_CREATED, live.MESSAGE_RECEIVED] if done.lead_created else [live.MESSAGE_RECEIVED]


def _ingested_row(item: LeadMessage, done: IngestRow) -> Ingested:
    lead_id, message_id, conversation_id = str(done.lead_id), str(done.message_id), str(done.conversation_id)
    if not done.created:
        return Ingested(lead_id, message_id, False, done.lead_created, conversation_id)
    return Ingested(
        lead_id,
        message_id,
        True,
        done.lead_created,
        conversation_id,
        not done.blocked,
        done.blocked,
        soft_hits(item.limits, done.leads),
        reply_scheduled=done.scheduled,
    )


async def _claim_echo(
    session: AsyncSession, tenant: uuid.UUID, conversation_id: uuid.UUID, message: Inbound
) -> uuid.UUID | None:
    outbox = OutboxRepository(session)
    ours = await outbox.unsent_echo(tenant, conversation_id, message.text.replace("\x00", ""))
    if ours is None:
        return None
    await MessageRepository(session).set_external_id(
        tenant, ours.id, clean(message.provider), clean(message.external_id)
    )
    return ours.id


async def _human_from_phone(
    session: AsyncSession, tenant: uuid.UUID, conversation_id: uuid.UUID, message_id: uuid.UUID, owner: str
) -> None:
    """The business answered from its own phone: a person is in this conversation now."""
    events = EventRepository(session)
    if owner == "human":
        await events.add(
            tenant, conversation_id, HUMAN_FROM_PHONE, message_id=message_id, actor="business_phone"
        )
        return
    await OwnershipRepository(session).set_owner(tenant, conversation_id, "human", None)
    await ReplyJobRepository(session).cancel_pending(tenant, conversation_id, "human_owner")
    lead_id = await ConversationRepository(session).lead_of(tenant, conversation_id)
    await live.publish(session, live.OWNER_CHANGED, tenant, lead_id)
    await events.add(
        tenant,
        conversation_id,
        OWNER_CHANGED,
        message_id=message_id,
        reason=HUMAN_FROM_PHONE,
        actor="business_phone",
        owner="human",
    )


def sent_args(
    tenant_id: str, message_id: str, provider: str, provider_message_id: str
) -> tuple[uuid.UUID, uuid.UUID, str, str]:
    """RecordOutboundSent's arguments, checked (raises DomainError): tenant, message, provider, id."""
    authz.require_internal()
    return (
        parse_id(tenant_id, "tenant_id"),
        parse_id(message_id, "message_id"),
        _required(provider, "provider"),
        _required(provider_message_id, "provider_message_id"),
    )


async def try_record_outbound_sent(
    connection: AsyncConnection, tenant_id: str, message_id: str, provider: str, provider_message_id: str
) -> str | None:
    """record_outbound_sent's common case in one statement (no echo holds the id, no status came
    first): the message's status, or None when it is not that case and nothing was written."""
    checked = sent_args(tenant_id, message_id, provider, provider_message_id)
    return (await try_record_outbound_sent_many(connection, [checked]))[0]


async def try_record_outbound_sent_many(
    connection: AsyncConnection, items: list[tuple[uuid.UUID, uuid.UUID, str, str]]
) -> list[str | None]:
    """try_record_outbound_sent of many checked items (see sent_args) in one statement: each one's
    status, or None where the general path must run. Raises asyncpg.UniqueViolationError (nothing
    written) when an echo committed one of the ids meanwhile, or two items carry the same id."""
    authz.require_internal()
    return [(status or "") if done else None for done, status in await claim_external_ids(connection, items)]


async def record_outbound_sent(
    session: AsyncSession, tenant_id: str, message_id: str, provider: str, provider_message_id: str
) -> str:
    """Give our outbound message its provider id; returns its status (statuses may have come first).

    If the provider's echo of it was stored before we knew the id (the webhook won the race), that
    echo is the same message: it is removed, with its takeover event, and ours takes the id.
    """
    tenant, mid, provider, external_id = sent_args(tenant_id, message_id, provider, provider_message_id)
    messages = MessageRepository(session)
    ours = await messages.get(tenant, mid, lock=True)
    if ours is None or ours.direction == "inbound":
        raise errors.MessageNotFound()
    other = await messages.find(tenant, provider, external_id, lock=True)
    if other is not None and other.id != ours.id:
        await _drop_echo(session, other)
    await messages.set_external_id(tenant, mid, provider, external_id)
    orphans = await StatusEventRepository(session).attach_orphans(tenant, provider, external_id, mid)
    best = max([(ours.status, ours.status_at), *orphans], key=lambda s: STATUS_RANK.get(s[0] or "", 0))
    if best[0] and best[0] != ours.status and best[1] is not None:
        await messages.set_status(tenant, mid, best[0], best[1])
    return best[0] or ""


async def _drop_echo(session: AsyncSession, echo: Message) -> None:
    events = EventRepository(session)
    if echo.direction != "outbound_human" or not await events.has(echo.tenant_id, echo.id, HUMAN_FROM_PHONE):
        raise errors.ProviderIdTaken()
    await MessageRepository(session).delete(echo.tenant_id, echo.id)
    await LeadRepository(session).uncount_message(echo.tenant_id, echo.lead_id)


async def record_status(session: AsyncSession, tenant_id: str, update: StatusUpdate) -> StatusResult:
    """Store a delivery status once per (message, status); the message's status only moves forward."""
    authz.require_internal()
    tenant = parse_id(tenant_id, "tenant_id")
    provider = _required(update.provider, "provider")
    external_id = _required(update.provider_message_id, "provider_message_id")
    if update.status not in STATUS_RANK:
        raise errors.BadValue("status", update.status, tuple(STATUS_RANK))
    # Locking the message serialises concurrent statuses of it, so the rank comparison below is safe.
    message = await MessageRepository(session).find(tenant, provider, external_id, lock=True)
    created = await StatusEventRepository(session).insert_once(
        {
            "tenant_id": tenant,
            "message_id": message.id if message else None,
            "provider": provider,
            "provider_message_id": external_id,
            "status": update.status,
            "error_code": clean(update.error_code),
            "error_title": clean(update.error_title),
            "at": update.at or datetime.now(UTC),
        }
    )
    if message is None:
        return StatusResult(found=False, created=created, message_status="")
    current = message.status
    if STATUS_RANK[update.status] > STATUS_RANK.get(current or "", 0):
        await MessageRepository(session).set_status(
            tenant, message.id, update.status, update.at or datetime.now(UTC)
        )
        current = update.status
    return StatusResult(found=True, created=created, message_status=current or "")


def _required(value: str, field: str) -> str:
    cleaned = clean(value)
    if not cleaned:
        raise errors.MissingField(field)
    return cleaned
