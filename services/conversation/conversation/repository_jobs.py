"""SQL of reply jobs, lead profiles, conversation ownership and the notify hand-over (migration 0003).

The claim and sweep queries are deliberately cross-tenant: they are the system's work queues, run by
the worker for every tenant; every row they return carries its tenant_id and all follow-up writes
filter on it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from conversation.domain import Debounce
from conversation.models import Conversation, ConversationEvent, Lead, LeadProfile, Message, ReplyJob

PENDING = ("queued", "retry_wait")


# SQL text because SQLAlchemy does not cache compiled PostgreSQL INSERT … ON CONFLICT statements,
# and this one runs for every inbound message. The conflict target names the partial index by its
# predicate, as Postgres requires.
_SCHEDULE = text(
    "INSERT INTO conversation.reply_jobs (id, tenant_id, conversation_id, lead_id, status, run_after,"
    " burst_started_at, last_message_id, traceparent, tracestate)"
    " VALUES (:id, :tenant_id, :conversation_id, :lead_id, 'queued', now() + make_interval(secs => :delay),"
    " now(), :message_id, :traceparent, :tracestate)"
    " ON CONFLICT (conversation_id) WHERE status IN ('queued', 'retry_wait') DO UPDATE SET"
    " status = 'queued',"
    # A job waiting for the model (retry_wait) is woken: the lead's new message deserves a try now.
    " run_after = CASE WHEN reply_jobs.status = 'retry_wait' THEN now() + make_interval(secs => :delay)"
    " ELSE least(now() + make_interval(secs => :delay),"
    " reply_jobs.burst_started_at + make_interval(secs => :max_wait)) END,"
    " burst_started_at = CASE WHEN reply_jobs.status = 'retry_wait' THEN now()"
    " ELSE reply_jobs.burst_started_at END,"
    " last_message_id = excluded.last_message_id, traceparent = excluded.traceparent,"
    " tracestate = excluded.tracestate, updated_at = now()"
    " RETURNING id"
)


class ReplyJobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def schedule(
        self,
        tenant_id: uuid.UUID,
        conversation_id: uuid.UUID,
        lead_id: uuid.UUID,
        message_id: uuid.UUID,
        debounce: Debounce,
        carrier: dict[str, str],
    ) -> uuid.UUID:
        """Create the conversation's pending job, or push the pending one back (the burst grows).

        A job waiting for the model (retry_wait) is woken: the lead's new message deserves a try now.
        """
        params = {
            "id": uuid.uuid4(),
            "tenant_id": tenant_id,
            "conversation_id": conversation_id,
            "lead_id": lead_id,
            "message_id": message_id,
            "delay": float(debounce.seconds),
            "max_wait": float(debounce.max_wait),
            "traceparent": carrier.get("traceparent", ""),
            "tracestate": carrier.get("tracestate", ""),
        }
        return (await self.session.execute(_SCHEDULE, params)).scalar_one()  # type: ignore[no-any-return]

    async def claim(self, token: str, lease: float, limit: int) -> Sequence[ReplyJob]:
        """Due pending jobs first, then jobs whose worker's lease ran out; each one to one claimer."""
        due = (
            select(ReplyJob.id)
            .where(ReplyJob.status.in_(PENDING), ReplyJob.run_after <= func.now())
            .order_by(ReplyJob.run_after)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claimed = await self._take(due, token, lease)
        if len(claimed) < limit:
            expired = (
                select(ReplyJob.id)
                .where(ReplyJob.status == "running", ReplyJob.locked_until < func.now())
                .order_by(ReplyJob.locked_until)
                .limit(limit - len(claimed))
                .with_for_update(skip_locked=True)
            )
            claimed = [*claimed, *await self._take(expired, token, lease)]
        return claimed

    async def _take(self, ids: Any, token: str, lease: float) -> Sequence[ReplyJob]:
        stmt = (
            update(ReplyJob)
            .where(ReplyJob.id.in_(ids.scalar_subquery()))
            .values(
                status="running",
                locked_by=token,
                locked_until=func.now() + timedelta(seconds=lease),
                attempts=ReplyJob.attempts + 1,
                updated_at=func.now(),
            )
            .returning(ReplyJob)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def holds(self, job_id: uuid.UUID, token: str) -> ReplyJob | None:
        """The job, locked, while this claim still owns it (another worker may have re-claimed it)."""
        query = (
            select(ReplyJob)
            .where(ReplyJob.id == job_id, ReplyJob.locked_by == token, ReplyJob.status == "running")
            .with_for_update()
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def finish(self, job_id: uuid.UUID, status: str, **values: Any) -> None:
        await self.session.execute(
            update(ReplyJob)
            .where(ReplyJob.id == job_id)
            .values(status=status, locked_by=None, locked_until=None, updated_at=func.now(), **values)
        )

    async def retry_later(
        self, job_id: uuid.UUID, conversation_id: uuid.UUID, seconds: float, error: str, fallback_sent: bool
    ) -> None:
        """Back to retry_wait, or — when a newer message already queued a job — fold into that one."""
        other = (
            await self.session.execute(
                select(ReplyJob)
                .where(ReplyJob.conversation_id == conversation_id, ReplyJob.status.in_(PENDING))
                .with_for_update()
            )
        ).scalar_one_or_none()
        if other is None:
            delay = timedelta(seconds=seconds)
            await self.finish(
                job_id,
                "retry_wait",
                run_after=func.now() + delay,
                last_error=error,
                fallback_sent=fallback_sent,
            )
            return
        if fallback_sent:
            await self.session.execute(
                update(ReplyJob).where(ReplyJob.id == other.id).values(fallback_sent=True)
            )
        await self.finish(job_id, "cancelled", outcome="merged", last_error=error)

    async def cancel_pending(self, tenant_id: uuid.UUID, conversation_id: uuid.UUID, outcome: str) -> None:
        await self.session.execute(
            update(ReplyJob)
            .where(
                ReplyJob.tenant_id == tenant_id,
                ReplyJob.conversation_id == conversation_id,
                ReplyJob.status.in_(PENDING),
            )
            .values(status="cancelled", outcome=outcome, updated_at=func.now())
        )

    async def covered_until(self, tenant_id: uuid.UUID, conversation_id: uuid.UUID) -> datetime | None:
        query = select(func.max(ReplyJob.covered_until)).where(
            ReplyJob.tenant_id == tenant_id, ReplyJob.conversation_id == conversation_id
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def queue_stats(self) -> tuple[int, float]:
        """(jobs due now, seconds the oldest due one has waited past its run_after)."""
        query = select(
            func.count(), func.coalesce(func.extract("epoch", func.now() - func.min(ReplyJob.run_after)), 0)
        ).where(ReplyJob.status.in_(PENDING), ReplyJob.run_after <= func.now())
        row = (await self.session.execute(query)).one()
        return int(row[0]), float(row[1])


class ProfileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, tenant_id: uuid.UUID, lead_id: uuid.UUID) -> LeadProfile | None:
        query = select(LeadProfile).where(LeadProfile.tenant_id == tenant_id, LeadProfile.lead_id == lead_id)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def save(
        self,
        tenant_id: uuid.UUID,
        lead_id: uuid.UUID,
        fields: list[dict[str, Any]],
        score: int,
        reasons: list[str],
    ) -> None:
        values = {"fields": fields, "score": score, "score_reasons": reasons, "updated_at": func.now()}
        stmt = insert(LeadProfile).values(tenant_id=tenant_id, lead_id=lead_id, **values)
        await self.session.execute(stmt.on_conflict_do_update(index_elements=["lead_id"], set_=values))


class OwnershipRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_lead(
        self, tenant_id: uuid.UUID, lead_id: uuid.UUID, *, lock: bool = False
    ) -> Conversation | None:
        query = select(Conversation).where(
            Conversation.tenant_id == tenant_id, Conversation.lead_id == lead_id
        )
        if lock:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def get(self, tenant_id: uuid.UUID, conversation_id: uuid.UUID) -> Conversation | None:
        query = select(Conversation).where(
            Conversation.tenant_id == tenant_id, Conversation.id == conversation_id
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def claim_for_ai(self, tenant_id: uuid.UUID, conversation_id: uuid.UUID, seen: int) -> bool:
        """The atomic check right before the AI speaks: still AI-owned and unchanged since it read it."""
        stmt = (
            update(Conversation)
            .where(
                Conversation.tenant_id == tenant_id,
                Conversation.id == conversation_id,
                Conversation.version == seen,
                Conversation.owner == "ai",
            )
            .values(version=Conversation.version + 1)
        )
        return bool((await self.session.execute(stmt)).rowcount)  # type: ignore[attr-defined]

    async def set_owner(
        self, tenant_id: uuid.UUID, conversation_id: uuid.UUID, owner: str, user_id: uuid.UUID | None
    ) -> None:
        await self.session.execute(
            update(Conversation)
            .where(Conversation.tenant_id == tenant_id, Conversation.id == conversation_id)
            .values(
                owner=owner,
                owner_user_id=user_id,
                version=Conversation.version + 1,
                owner_changed_at=func.now(),
                # Someone answers it now (a person, or the AI again): no seller waits to be assigned.
                assignment_due_at=(Conversation.assignment_due_at if owner == "nobody" else None),
            )
        )

    async def events(self, tenant_id: uuid.UUID, conversation_id: uuid.UUID) -> Sequence[ConversationEvent]:
        query = (
            select(ConversationEvent)
            .where(
                ConversationEvent.tenant_id == tenant_id, ConversationEvent.conversation_id == conversation_id
            )
            .order_by(ConversationEvent.created_at, ConversationEvent.id)
        )
        return (await self.session.execute(query)).scalars().all()


class OutboxRepository:
    """Outbound messages we store for sending, and their hand-over to notify."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, values: dict[str, Any]) -> bool:
        """Insert an outbound message by its (deterministic) id; False when it already exists."""
        stmt = (
            insert(Message)
            .values(notify_pending=True, **values)
            .on_conflict_do_nothing(index_elements=["id"])
        )
        return (await self.session.execute(stmt.returning(Message.id))).scalar_one_or_none() is not None

    async def handed(self, tenant_id: uuid.UUID, message_id: uuid.UUID) -> None:
        await self.session.execute(
            update(Message)
            .where(Message.tenant_id == tenant_id, Message.id == message_id)
            .values(notify_pending=False)
        )

    async def unsent_echo(
        self, tenant_id: uuid.UUID, conversation_id: uuid.UUID, body: str
    ) -> Message | None:
        """Our own recent outbound message with this text that has no provider id yet: a `fromMe`
        webhook carrying it is the provider's echo of our send, not a person typing on the phone."""
        query = (
            select(Message)
            .where(
                Message.tenant_id == tenant_id,
                Message.conversation_id == conversation_id,
                Message.direction.in_(("outbound_ai", "outbound_human")),
                Message.external_id.is_(None),
                Message.text == body,
                Message.created_at > func.now() - timedelta(minutes=10),
            )
            .order_by(Message.created_at.desc())
            .limit(1)
            .with_for_update()
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def stale(self, older_than: float, limit: int) -> Sequence[Row[Any]]:
        """Messages stored for sending but not handed to notify within `older_than` seconds."""
        query = (
            select(
                Message.tenant_id,
                Message.id,
                Message.text,
                Lead.phone,
                Conversation.channel_id,
                Conversation.last_inbound_at,
            )
            .join(Lead, and_(Lead.id == Message.lead_id, Lead.tenant_id == Message.tenant_id))
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Message.notify_pending, Message.created_at < func.now() - timedelta(seconds=older_than))
            .order_by(Message.created_at)
            .limit(limit)
        )
        return (await self.session.execute(query)).all()


async def now(session: AsyncSession) -> datetime:
    """The database's clock: every worker compares times against the same one."""
    return (await session.execute(text("SELECT now()"))).scalar_one()  # type: ignore[no-any-return]
