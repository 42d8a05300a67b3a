"""Read-only SQL of the lead diagnosis: the last inbound message, its reply job, what the job stored
and the provider statuses of it. Every query filters on the tenant."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conversation.models import ConversationEvent, Message, MessageStatusEvent, ReplyJob


class DiagnosisRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def last_inbound(self, tenant_id: uuid.UUID, lead_id: uuid.UUID) -> Message | None:
        query = (
            select(Message)
            .where(Message.tenant_id == tenant_id, Message.lead_id == lead_id, Message.direction == "inbound")
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(1)
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def job_for(self, tenant_id: uuid.UUID, message: Message) -> ReplyJob | None:
        """The job that answers `message`: the one whose burst it last joined (newest first)."""
        query = (
            select(ReplyJob)
            .where(ReplyJob.tenant_id == tenant_id, ReplyJob.last_message_id == message.id)
            .order_by(ReplyJob.created_at.desc())
            .limit(1)
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def messages(self, tenant_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> Sequence[Message]:
        query = select(Message).where(Message.tenant_id == tenant_id, Message.id.in_(ids))
        return (await self.session.execute(query)).scalars().all()

    async def status_events(
        self, tenant_id: uuid.UUID, message_ids: Sequence[uuid.UUID]
    ) -> Sequence[MessageStatusEvent]:
        query = (
            select(MessageStatusEvent)
            .where(MessageStatusEvent.tenant_id == tenant_id, MessageStatusEvent.message_id.in_(message_ids))
            .order_by(MessageStatusEvent.at)
        )
        return (await self.session.execute(query)).scalars().all()

    async def last_owner_change(
        self, tenant_id: uuid.UUID, conversation_id: uuid.UUID
    ) -> ConversationEvent | None:
        query = (
            select(ConversationEvent)
            .where(
                ConversationEvent.tenant_id == tenant_id,
                ConversationEvent.conversation_id == conversation_id,
                ConversationEvent.owner.is_not(None),
            )
            .order_by(ConversationEvent.created_at.desc())
            .limit(1)
        )
        return (await self.session.execute(query)).scalar_one_or_none()
