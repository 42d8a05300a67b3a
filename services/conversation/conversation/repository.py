"""The only module of the conversation service that builds SQL."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncSession

from conversation.models import Conversation, Lead, Message


class LeadRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(self, tenant_id: uuid.UUID, phone: str, name: str) -> tuple[uuid.UUID, bool]:
        """(lead id, created). Race-safe: concurrent first messages meet in the unique index."""
        stmt = insert(Lead).values(id=uuid.uuid4(), tenant_id=tenant_id, phone=phone, name=name)
        stmt = stmt.on_conflict_do_update(
            index_elements=[Lead.tenant_id, Lead.phone],
            set_={"name": case((stmt.excluded.name != "", stmt.excluded.name), else_=Lead.name)},
        )
        # xmax is 0 only on a freshly inserted row version, not on one the conflict branch updated.
        result: Result[Any] = await self.session.execute(
            stmt.returning(Lead.id, literal_column("xmax = 0").label("new"))
        )
        lead_id, new = result.one()
        return lead_id, bool(new)

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

    async def get(self, tenant_id: uuid.UUID, lead_id: uuid.UUID) -> Lead | None:
        query = select(Lead).where(Lead.tenant_id == tenant_id, Lead.id == lead_id)
        return (await self.session.execute(query)).scalar_one_or_none()


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(
        self, tenant_id: uuid.UUID, lead_id: uuid.UUID, channel_id: uuid.UUID | None
    ) -> uuid.UUID:
        """The lead's one open conversation; a known channel is kept when a message has none."""
        stmt = insert(Conversation).values(
            id=uuid.uuid4(), tenant_id=tenant_id, lead_id=lead_id, channel_id=channel_id
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[Conversation.tenant_id, Conversation.lead_id],
            set_={"channel_id": func.coalesce(stmt.excluded.channel_id, Conversation.channel_id)},
        )
        return (await self.session.execute(stmt.returning(Conversation.id))).scalar_one()

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
