"""SQL of the conversation service (with repository_leads.py for the dashboard queries)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Date, case, delete, func, literal_column, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncSession

from conversation.models import (
    Conversation,
    ConversationEvent,
    Lead,
    Message,
    MessageStatusEvent,
    TenantDayCounter,
)

SAO_PAULO = "America/Sao_Paulo"


class LeadRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(
        self, tenant_id: uuid.UUID, phone: str, name: str, at: datetime
    ) -> tuple[uuid.UUID, bool, bool]:
        """(lead id, created, opted out). Race-safe: concurrent first messages meet in the unique index."""
        stmt = insert(Lead).values(
            id=uuid.uuid4(), tenant_id=tenant_id, phone=phone, name=name, last_message_at=at
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[Lead.tenant_id, Lead.phone],
            set_={"name": case((stmt.excluded.name != "", stmt.excluded.name), else_=Lead.name)},
        )
        # xmax is 0 only on a freshly inserted row version, not on one the conflict branch updated.
        result: Result[Any] = await self.session.execute(
            stmt.returning(Lead.id, literal_column("xmax = 0").label("new"), Lead.opted_out)
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
        today = func.timezone(SAO_PAULO, func.now()).cast(Date)
        stmt = insert(TenantDayCounter).values(tenant_id=tenant_id, day=today, new_leads=1)
        stmt = stmt.on_conflict_do_update(
            index_elements=[TenantDayCounter.tenant_id, TenantDayCounter.day],
            set_={"new_leads": TenantDayCounter.new_leads + 1},
        )
        return int((await self.session.execute(stmt.returning(TenantDayCounter.new_leads))).scalar_one())


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
        stmt = insert(Conversation).values(
            id=uuid.uuid4(), tenant_id=tenant_id, lead_id=lead_id, channel_id=channel_id
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[Conversation.tenant_id, Conversation.lead_id],
            set_={"channel_id": func.coalesce(stmt.excluded.channel_id, Conversation.channel_id)},
        )
        row = (await self.session.execute(stmt.returning(Conversation.id, Conversation.owner))).one()
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
        stmt = (
            insert(Message)
            .values(id=uuid.uuid4(), **values)
            .on_conflict_do_nothing(index_elements=["tenant_id", "provider", "external_id"])
            .returning(Message.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

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
