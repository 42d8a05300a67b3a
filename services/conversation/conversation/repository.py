"""SQL of the conversation service (with repository_leads.py for the dashboard queries)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from conversation.models import (
    Conversation,
    ConversationEvent,
    Lead,
    Message,
    MessageStatusEvent,
)
from kit import db

SAO_PAULO = "America/Sao_Paulo"


# The ingest path's statements as SQL text: SQLAlchemy does not cache the compilation of
# PostgreSQL INSERT … ON CONFLICT constructs, and compiling them on every message cost more CPU
# than everything else the conversation service does per webhook.
_LEAD_UPSERT = text(
    "INSERT INTO conversation.leads (id, tenant_id, phone, name, last_message_at)"
    " VALUES (:id, :tenant_id, :phone, :name, :at)"
    " ON CONFLICT (tenant_id, phone) DO UPDATE"
    " SET name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE leads.name END"
    # xmax is 0 only on a freshly inserted row version, not on one the conflict branch updated.
    " RETURNING id, xmax = 0 AS new, opted_out"
)
_DAY_COUNTER = text(
    "INSERT INTO conversation.tenant_day_counters (tenant_id, day, new_leads)"
    " VALUES (:tenant_id, (now() AT TIME ZONE 'America/Sao_Paulo')::date, 1)"
    " ON CONFLICT (tenant_id, day) DO UPDATE SET new_leads = tenant_day_counters.new_leads + 1"
    " RETURNING new_leads"
)
_CONVERSATION_UPSERT = text(
    "INSERT INTO conversation.conversations (id, tenant_id, lead_id, channel_id)"
    " VALUES (:id, :tenant_id, :lead_id, :channel_id)"
    " ON CONFLICT (tenant_id, lead_id) DO UPDATE"
    " SET channel_id = coalesce(excluded.channel_id, conversations.channel_id)"
    " RETURNING id, owner"
)
_MESSAGE_COLUMNS = (
    "id", "tenant_id", "lead_id", "conversation_id", "direction", "provider", "external_id", "kind",
    "text", "media", "location", "reply_id", "raw", "sent_at", "auto_reply_blocked",
)  # fmt: skip
_MESSAGE_DEFAULTS: dict[str, Any] = {"media": None, "location": None, "raw": None, "auto_reply_blocked": None}
_MESSAGE_INSERT = text(
    f"INSERT INTO conversation.messages ({', '.join(_MESSAGE_COLUMNS)})"
    f" VALUES ({', '.join(':' + c for c in _MESSAGE_COLUMNS)})"
    " ON CONFLICT (tenant_id, provider, external_id) DO NOTHING RETURNING id"
).bindparams(
    bindparam("media", type_=JSONB), bindparam("location", type_=JSONB), bindparam("raw", type_=JSONB)
)


# The common ingest path (a lead's inbound messages) in one round trip: its parameters, one per item.
_INGEST_PARAMS = (
    "tenant_id", "phone", "name", "at", "channel_id", "provider", "external_id", "kind", "text",
    "media", "location", "reply_id", "raw", "sent_at", "blocked", "leads_soft", "leads_hard",
    "is_opt_in", "delay", "max_wait", "traceparent", "tracestate",
)  # fmt: skip
# RecordOutboundSent's common case, for one message or many: our message takes its provider id, which
# no echo holds and no early status names; one row per item, in the items' order. Anything else (or a
# message not ours) is not done, and the general path runs.
_CLAIM_EXTERNAL_IDS = (
    "WITH items AS (SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[])"
    "  WITH ORDINALITY AS i(tenant_id, id, provider, external_id, n)),"
    " claimed AS (UPDATE conversation.messages m SET provider = i.provider, external_id = i.external_id"
    "  FROM items i WHERE m.tenant_id = i.tenant_id AND m.id = i.id AND m.direction <> 'inbound'"
    "  AND NOT EXISTS (SELECT 1 FROM conversation.messages o WHERE o.tenant_id = i.tenant_id"
    "   AND o.provider = i.provider AND o.external_id = i.external_id AND o.id <> i.id)"
    "  AND NOT EXISTS (SELECT 1 FROM conversation.message_status_events s"
    "   WHERE s.tenant_id = i.tenant_id AND s.provider = i.provider"
    "   AND s.provider_message_id = i.external_id AND s.message_id IS NULL)"
    "  RETURNING m.tenant_id, m.id, m.status)"
    " SELECT c.id IS NOT NULL AS done, c.status FROM items i"
    " LEFT JOIN claimed c ON c.tenant_id = i.tenant_id AND c.id = i.id ORDER BY i.n"
)


async def claim_external_ids(
    connection: AsyncConnection, items: list[tuple[uuid.UUID, uuid.UUID, str, str]]
) -> list[tuple[bool, str | None]]:
    """(done, status) of each (tenant id, message id, provider, external id): the provider id given to
    our outbound message in one statement that commits alone, when nothing else holds that id and no
    status waits for it; not done leaves it untouched. All or nothing: a unique violation (an echo
    committing the id meanwhile, or two items with one id) fails them all. Each message once per call."""
    columns = [list(column) for column in zip(*items, strict=True)] if items else [[], [], [], []]
    rows = await db.driver_fetch(connection, _CLAIM_EXTERNAL_IDS, *columns)
    return [(bool(row["done"]), row["status"]) for row in rows]


# Lead messages, one or many, in one round trip (migration 0008's function): one array per parameter,
# JSON values as text (`raw` comes as text already: conversation.domain.raw_payload_text).
_JSON_PARAMS = frozenset({"media", "location"})
_INGEST_MANY = text(
    f"SELECT * FROM conversation.ingest_inbound_many({', '.join(':' + p for p in _INGEST_PARAMS)})"
)
_INGEST_MANY_RAW = db.Raw(_INGEST_MANY.text)


def _json_text(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


@dataclass(frozen=True)
class IngestRow:
    """What conversation.ingest_inbound_many() did with one item; on a duplicate (created False) the
    stored message's ids."""

    lead_id: uuid.UUID
    lead_created: bool
    message_id: uuid.UUID
    created: bool
    conversation_id: uuid.UUID
    leads: str
    blocked: str
    scheduled: bool


class IngestRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def inbound(self, values: dict[str, Any]) -> IngestRow:
        """Store one item (a dict keyed by _INGEST_PARAMS): a batch of one."""
        (row,) = await self.inbound_many([values])
        return row

    async def inbound_many(self, items: list[dict[str, Any]]) -> list[IngestRow]:
        """Run the function for every item (dicts keyed by _INGEST_PARAMS), in order, in one call."""
        rows = (await self.session.execute(_INGEST_MANY, _many_params(items))).all()
        return _in_order(rows, len(items))


def _many_params(items: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {
        p: [_json_text(v[p]) for v in items] if p in _JSON_PARAMS else [v[p] for v in items]
        for p in _INGEST_PARAMS
    }


def _in_order(rows: Sequence[Any], count: int) -> list[IngestRow]:
    ordered = sorted(rows, key=lambda r: int(r[0]))
    if [int(r[0]) for r in ordered] != list(range(1, count + 1)):
        raise RuntimeError("ingest_inbound_many did not answer once per item")
    return [IngestRow(*tuple(r)[1:]) for r in ordered]


async def inbound_many_alone(connection: AsyncConnection, items: list[dict[str, Any]]) -> list[IngestRow]:
    """IngestRepository.inbound_many as one statement on the raw driver, committed alone."""
    return _in_order(await _INGEST_MANY_RAW.fetch(connection, _many_params(items)), len(items))


class LeadRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(
        self, tenant_id: uuid.UUID, phone: str, name: str, at: datetime
    ) -> tuple[uuid.UUID, bool, bool]:
        """(lead id, created, opted out). Race-safe: concurrent first messages meet in the unique index."""
        result = await self.session.execute(
            _LEAD_UPSERT, {"id": uuid.uuid4(), "tenant_id": tenant_id, "phone": phone, "name": name, "at": at}
        )
        lead_id, new, opted_out = result.one()
        return lead_id, bool(new), bool(opted_out)

    async def count_message(self, tenant_id: uuid.UUID, lead_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(Lead)
            .where(Lead.tenant_id == tenant_id, Lead.id == lead_id)
            .values(
                message_count=Lead.message_count + 1,
                # GREATEST ignores NULL and keeps a late provider retry from moving time backwards.
                last_message_at=func.greatest(Lead.last_message_at, at),
            )
        )

    async def uncount_message(self, tenant_id: uuid.UUID, lead_id: uuid.UUID) -> None:
        await self.session.execute(
            update(Lead)
            .where(Lead.tenant_id == tenant_id, Lead.id == lead_id)
            .values(message_count=func.greatest(Lead.message_count - 1, 0))
        )

    async def get(self, tenant_id: uuid.UUID, lead_id: uuid.UUID, *, lock: bool = False) -> Lead | None:
        query = select(Lead).where(Lead.tenant_id == tenant_id, Lead.id == lead_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()


class DayCounterRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_new_lead(self, tenant_id: uuid.UUID) -> int:
        """Today's new-lead count including this one. The row lock taken by the upsert serialises
        concurrent lead creations of one tenant until commit, so every count is exact."""
        return int((await self.session.execute(_DAY_COUNTER, {"tenant_id": tenant_id})).scalar_one())


class EventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        tenant_id: uuid.UUID,
        conversation_id: uuid.UUID,
        kind: str,
        *,
        message_id: uuid.UUID | None = None,
        reason: str = "",
        actor: str = "",
        owner: str | None = None,
        owner_user_id: uuid.UUID | None = None,
        detail: str = "",
        event_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        event_id = event_id or uuid.uuid4()
        await self.session.execute(
            insert(ConversationEvent).values(
                id=event_id,
                tenant_id=tenant_id,
                conversation_id=conversation_id,
                message_id=message_id,
                kind=kind,
                reason=reason,
                actor=actor,
                owner=owner,
                owner_user_id=owner_user_id,
                detail=detail,
            )
        )
        return event_id

    async def has(self, tenant_id: uuid.UUID, message_id: uuid.UUID, kind: str) -> bool:
        """Whether the message has an event of this kind, or an owner change for this reason."""
        query = select(ConversationEvent.id).where(
            ConversationEvent.tenant_id == tenant_id,
            ConversationEvent.message_id == message_id,
            or_(ConversationEvent.kind == kind, ConversationEvent.reason == kind),
        )
        return (await self.session.execute(query.limit(1))).first() is not None


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(
        self, tenant_id: uuid.UUID, lead_id: uuid.UUID, channel_id: uuid.UUID | None
    ) -> tuple[uuid.UUID, str]:
        """(id, owner) of the lead's one open conversation; a known channel is kept when a message
        has none."""
        params = {"id": uuid.uuid4(), "tenant_id": tenant_id, "lead_id": lead_id, "channel_id": channel_id}
        row = (await self.session.execute(_CONVERSATION_UPSERT, params)).one()
        return row.id, row.owner

    async def lead_of(self, tenant_id: uuid.UUID, conversation_id: uuid.UUID) -> uuid.UUID:
        query = select(Conversation.lead_id).where(
            Conversation.tenant_id == tenant_id, Conversation.id == conversation_id
        )
        return (await self.session.execute(query)).scalar_one()  # type: ignore[no-any-return]

    async def touch_inbound(self, tenant_id: uuid.UUID, conversation_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(Conversation)
            .where(Conversation.tenant_id == tenant_id, Conversation.id == conversation_id)
            .values(last_inbound_at=func.greatest(Conversation.last_inbound_at, at))
        )


class MessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_once(self, values: dict[str, Any]) -> uuid.UUID | None:
        """The new message's id, or None when (tenant, provider, external id) is already stored."""
        params = {**_MESSAGE_DEFAULTS, **values, "id": uuid.uuid4()}
        return (await self.session.execute(_MESSAGE_INSERT, params)).scalar_one_or_none()

    async def by_external_id(
        self, tenant_id: uuid.UUID, provider: str, external_id: str
    ) -> tuple[uuid.UUID, uuid.UUID]:
        """(message id, lead id) of a stored message."""
        query = select(Message.id, Message.lead_id).where(
            Message.tenant_id == tenant_id, Message.provider == provider, Message.external_id == external_id
        )
        row = (await self.session.execute(query)).one()
        return row.id, row.lead_id

    async def find(
        self, tenant_id: uuid.UUID, provider: str, external_id: str, *, lock: bool = False
    ) -> Message | None:
        query = select(Message).where(
            Message.tenant_id == tenant_id, Message.provider == provider, Message.external_id == external_id
        )
        if lock:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def get(self, tenant_id: uuid.UUID, message_id: uuid.UUID, *, lock: bool = False) -> Message | None:
        query = select(Message).where(Message.tenant_id == tenant_id, Message.id == message_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def delete(self, tenant_id: uuid.UUID, message_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(Message).where(Message.tenant_id == tenant_id, Message.id == message_id)
        )

    async def set_external_id(
        self, tenant_id: uuid.UUID, message_id: uuid.UUID, provider: str, external_id: str
    ) -> None:
        await self.session.execute(
            update(Message)
            .where(Message.tenant_id == tenant_id, Message.id == message_id)
            .values(provider=provider, external_id=external_id)
        )

    async def set_status(
        self, tenant_id: uuid.UUID, message_id: uuid.UUID, status: str, at: datetime
    ) -> None:
        await self.session.execute(
            update(Message)
            .where(Message.tenant_id == tenant_id, Message.id == message_id)
            .values(status=status, status_at=at)
        )


class StatusEventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_once(self, values: dict[str, Any]) -> bool:
        """True when this (tenant, provider, provider id, status) event was not stored before."""
        stmt = (
            insert(MessageStatusEvent)
            .values(id=uuid.uuid4(), **values)
            .on_conflict_do_nothing(index_elements=["tenant_id", "provider", "provider_message_id", "status"])
            .returning(MessageStatusEvent.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def attach_orphans(
        self, tenant_id: uuid.UUID, provider: str, external_id: str, message_id: uuid.UUID
    ) -> list[tuple[str, datetime]]:
        """Statuses that arrived before the message had its provider id: (status, at) each."""
        stmt = (
            update(MessageStatusEvent)
            .where(
                MessageStatusEvent.tenant_id == tenant_id,
                MessageStatusEvent.provider == provider,
                MessageStatusEvent.provider_message_id == external_id,
                MessageStatusEvent.message_id.is_(None),
            )
            .values(message_id=message_id)
            .returning(MessageStatusEvent.status, MessageStatusEvent.at)
        )
        return [(row.status, row.at) for row in await self.session.execute(stmt)]
