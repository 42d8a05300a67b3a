"""SQL of seller assignment (migration 0004) and of the live events (NOTIFY in the writer's transaction).

The sweeper's `due` query is deliberately cross-tenant: it is the system's work queue; every row it
returns carries its tenant_id and every follow-up query filters on it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Row, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from conversation.models import AssignmentCursor, Conversation, Lead, Message
from kit import db

EVENTS_CHANNEL = "vellarys_events"


class AssignmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def request(self, tenant_id: uuid.UUID, conversation_id: uuid.UUID) -> None:
        """A handoff: the sweeper (or the worker right after commit) assigns a seller now."""
        await self.session.execute(
            update(Conversation)
            .where(Conversation.tenant_id == tenant_id, Conversation.id == conversation_id)
            .values(assignment_due_at=func.now(), assigned_at=None)
        )

    async def due(self, limit: int) -> Sequence[Row[Any]]:
        query = (
            select(Conversation.tenant_id, Conversation.id)
            .where(Conversation.assignment_due_at <= func.now(), Conversation.owner == "nobody")
            .order_by(Conversation.assignment_due_at)
            .limit(limit)
        )
        return (await self.session.execute(query)).all()

    async def lock_due(self, tenant_id: uuid.UUID, conversation_id: uuid.UUID) -> Conversation | None:
        """The conversation, locked, while it still waits for a seller; None when another assigner
        holds it or a person picked it up meanwhile."""
        query = (
            select(Conversation)
            .where(
                Conversation.tenant_id == tenant_id,
                Conversation.id == conversation_id,
                Conversation.assignment_due_at <= func.now(),
                Conversation.owner == "nobody",
            )
            .with_for_update(skip_locked=True)
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def postpone(self, tenant_id: uuid.UUID, conversation_id: uuid.UUID, seconds: float) -> None:
        await self.session.execute(
            update(Conversation)
            .where(Conversation.tenant_id == tenant_id, Conversation.id == conversation_id)
            .values(assignment_due_at=func.now() + timedelta(seconds=seconds))
        )

    async def assign(
        self,
        tenant_id: uuid.UUID,
        conversation: Conversation,
        user_id: uuid.UUID,
        pickup_seconds: float | None,
    ) -> None:
        """The lead's seller; with `pickup_seconds`, the deadline by which they must pick it up."""
        due = func.now() + timedelta(seconds=pickup_seconds) if pickup_seconds is not None else None
        await self.session.execute(
            update(Lead)
            .where(Lead.tenant_id == tenant_id, Lead.id == conversation.lead_id)
            .values(assigned_user_id=user_id, updated_at=func.now())
        )
        await self.session.execute(
            update(Conversation)
            .where(Conversation.tenant_id == tenant_id, Conversation.id == conversation.id)
            .values(assigned_at=func.now(), assignment_due_at=due)
        )

    async def turn(self, tenant_id: uuid.UUID) -> uuid.UUID | None:
        """The tenant's last round-robin pick, row-locked: concurrent assigners of a tenant take turns."""
        await self.session.execute(
            insert(AssignmentCursor).values(tenant_id=tenant_id).on_conflict_do_nothing()
        )
        query = (
            select(AssignmentCursor.last_user_id)
            .where(AssignmentCursor.tenant_id == tenant_id)
            .with_for_update()
        )
        return (await self.session.execute(query)).scalar_one()

    async def save_turn(self, tenant_id: uuid.UUID, user_id: uuid.UUID) -> None:
        await self.session.execute(
            update(AssignmentCursor)
            .where(AssignmentCursor.tenant_id == tenant_id)
            .values(last_user_id=user_id, updated_at=func.now())
        )

    async def recent_inbound_text(self, tenant_id: uuid.UUID, lead_id: uuid.UUID, limit: int) -> str:
        query = (
            select(Message.text)
            .where(Message.tenant_id == tenant_id, Message.lead_id == lead_id, Message.direction == "inbound")
            .order_by(Message.created_at.desc())
            .limit(limit)
        )
        return "\n".join(reversed(list((await self.session.execute(query)).scalars())))


# One NOTIFY per event. Each lead's seller is read at send time, from committed state, so the
# stream's role filtering sees who the lead belongs to.
_NOTIFY = (
    "SELECT pg_notify($1, json_build_object('type', e.kind, 'tenant_id', e.tenant,"
    " 'lead_id', e.lead, 'assigned_user_id', coalesce(l.assigned_user_id::text, ''),"
    " 'at', now())::text)"
    " FROM unnest($2::text[], $3::uuid[], $4::uuid[]) AS e(kind, tenant, lead)"
    " LEFT JOIN conversation.leads l ON l.tenant_id = e.tenant AND l.id = e.lead"
)


async def notify_live(engine: AsyncEngine, events: list[tuple[str, str, str]]) -> None:
    """Send (kind, tenant id, lead id) events in one statement that commits alone."""
    kinds = [kind for kind, _, _ in events]
    tenants = [uuid.UUID(tenant) for _, tenant, _ in events]
    leads = [uuid.UUID(lead) for _, _, lead in events]
    await db.fetch(engine, _NOTIFY, EVENTS_CHANNEL, kinds, tenants, leads)
