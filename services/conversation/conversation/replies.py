"""Use cases of the reply worker, each run in one short transaction (never around the model call).

claim → load → (ai, outside any transaction) → apply. apply re-checks the claim (another worker may
have re-claimed the job after our lease ran out) and the conversation's owner and version, so a reply
is stored only by the claim holder and only while the AI still owns the conversation.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from conversation import events as live
from conversation.domain import (
    AI_HANDOFF,
    MODEL_FAILED_PREFIX,
    WINDOW,
    WINDOW_CLOSED,
    Outgoing,
    is_opt_in,
    job_message_id,
    retry_delay,
    window_open,
)
from conversation.models import Conversation
from conversation.ownership import change_owner
from conversation.ports import AiReply, AiRequest, ProfileItem, Turn
from conversation.repository import EventRepository
from conversation.repository_assign import AssignmentRepository
from conversation.repository_jobs import (
    Fields,
    OutboxRepository,
    OwnershipRepository,
    ReplyJobRepository,
    SnapshotQueries,
    claim_with_state,
    replied_alone,
)
from conversation.repository_leads import LeadQueries

HISTORY = 30
ROLE_OF = {"inbound": "lead", "outbound_ai": "assistant", "outbound_human": "seller"}
RETRY_OUTCOMES = ("fallback", "error", "breaker_open")


class LeaseLost(Exception):
    """Our lease ran out and another worker holds the job now: this run must change nothing."""


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    tenant_id: uuid.UUID
    conversation_id: uuid.UUID
    lead_id: uuid.UUID
    token: str
    attempts: int
    fallback_sent: bool
    carrier: dict[str, str]


@dataclass(frozen=True)
class Policy:
    retry_first: float = 60.0
    retry_cap: float = 1800.0


@dataclass(frozen=True)
class ConversationState:
    """What a reply reads of its conversation (the ORM row's fields of the same names)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    lead_id: uuid.UUID
    channel_id: uuid.UUID | None
    owner: str
    version: int
    last_inbound_at: datetime | None

    def row(self) -> Conversation:
        """A detached Conversation carrying these fields, for the ownership use cases."""
        return Conversation(
            id=self.id,
            tenant_id=self.tenant_id,
            lead_id=self.lead_id,
            channel_id=self.channel_id,
            owner=self.owner,
            version=self.version,
            last_inbound_at=self.last_inbound_at,
        )


@dataclass(frozen=True)
class LeadState:
    id: uuid.UUID
    name: str
    phone: str
    opted_out: bool
    status: str


@dataclass(frozen=True)
class Inbound:
    text: str
    created_at: datetime


@dataclass(frozen=True)
class Snapshot:
    conversation: ConversationState
    lead: LeadState
    history: list[Turn]
    profile: list[ProfileItem]
    latest_inbound: Inbound | None
    covered_until: datetime | None
    now: datetime

    @property
    def window_open(self) -> bool:
        return window_open(self.conversation.last_inbound_at, self.now)


def _turn(m: Row[Any] | Fields) -> Turn:
    media = "" if m.kind == "text" else m.kind
    return Turn(ROLE_OF.get(m.direction, "lead"), m.text or m.caption or "", m.sent_at or m.created_at, media)


def _claimed(r: Fields, token: str) -> Claimed:
    carrier = {k: v for k, v in (("traceparent", r.traceparent), ("tracestate", r.tracestate)) if v}
    return Claimed(
        r.id, r.tenant_id, r.conversation_id, r.lead_id, token, r.attempts, r.fallback_sent, carrier
    )


async def claim_and_load(
    connection: AsyncConnection, token: str, lease: float, limit: int
) -> list[tuple[Claimed, Snapshot | None]]:
    """claim() and load() of each claimed job in one statement, whatever the batch size: atomic
    alone, so this needs no transaction around it."""
    rows = await claim_with_state(connection, token, lease, limit, HISTORY)
    jobs = [(_claimed(r, token), r) for r in rows]
    return [(job, _snapshot(job, r, r.history) if r.found else None) for job, r in jobs]


async def load(session: AsyncSession, job: Claimed) -> Snapshot | None:
    """Two round trips: the conversation, lead, profile, coverage and clock; then the history."""
    queries = SnapshotQueries(session)
    state = await queries.state(job.tenant_id, job.conversation_id, job.lead_id)
    if state is None:
        return None
    return _snapshot(job, state, await queries.history(job.tenant_id, job.lead_id, HISTORY))


def _snapshot(
    job: Claimed, state: Row[Any] | Fields, newest_first: Sequence[Row[Any]] | Sequence[Fields]
) -> Snapshot:
    recent = list(reversed(newest_first))
    conversation = ConversationState(
        job.conversation_id,
        job.tenant_id,
        job.lead_id,
        state.channel_id,
        state.owner,
        state.version,
        state.last_inbound_at,
    )
    lead = LeadState(job.lead_id, state.name, state.phone, state.opted_out, state.status)
    profile = [ProfileItem(**f) for f in (state.profile or [])]
    latest = next((m for m in reversed(recent) if m.direction == "inbound"), None)
    inbound = Inbound(latest.text or "", latest.created_at) if latest is not None else None
    history = [_turn(m) for m in recent]
    return Snapshot(conversation, lead, history, profile, inbound, state.covered_until, state.now)


def precheck(job: Claimed, snap: Snapshot | None) -> str | None:
    """Why this job ends without asking the model, or None to ask it."""
    if snap is None:
        return "gone"
    if snap.conversation.owner != "ai":
        return "not_ai_owner"
    latest = snap.latest_inbound
    if latest is None or (snap.covered_until is not None and latest.created_at <= snap.covered_until):
        return "nothing_new"
    if snap.lead.opted_out and not is_opt_in(latest.text):
        return "opted_out"
    if job.fallback_sent and not snap.window_open:
        return WINDOW_CLOSED
    return None


def ai_request(job: Claimed, snap: Snapshot) -> AiRequest:
    last = snap.conversation.last_inbound_at
    return AiRequest(
        tenant_id=str(job.tenant_id),
        lead_id=str(job.lead_id),
        lead_name=snap.lead.name,
        history=snap.history,
        profile=snap.profile,
        window_expires_at=last + WINDOW if last else None,
        job_id=str(job.id),
        attempt=job.attempts,
    )


async def _held(session: AsyncSession, job: Claimed) -> None:
    if not await ReplyJobRepository(session).held(job.id, job.token):
        raise LeaseLost(str(job.id))


async def conclude(session: AsyncSession, job: Claimed, snap: Snapshot | None, outcome: str) -> str:
    """End a job without a reply (precheck outcomes); a closed window hands the lead to a person."""
    await _held(session, job)
    jobs = ReplyJobRepository(session)
    if outcome == WINDOW_CLOSED and snap is not None:
        await change_owner(session, snap.conversation.row(), "nobody", None, WINDOW_CLOSED, actor="system")
        await jobs.finish(job.id, "failed", outcome=outcome, last_error="model unavailable, window closed")
        return outcome
    status = "done" if outcome == "nothing_new" else "cancelled"
    await jobs.finish(job.id, status, outcome=outcome)
    return outcome


async def ai_unavailable(session: AsyncSession, job: Claimed, policy: Policy, error: str) -> str:
    """The ai service itself did not answer: no text to send, try again later."""
    await _held(session, job)
    delay = retry_delay(job.attempts, policy.retry_first, policy.retry_cap)
    await ReplyJobRepository(session).retry_later(
        job.id, job.conversation_id, delay, error, job.fallback_sent
    )
    return "ai_unavailable"


def simple(snap: Snapshot, reply: AiReply) -> bool:
    """A reply that only stores its message and profile (no opt-out/in, handoff or retry): apply_simple()
    stores it in one statement, which needs no transaction around it."""
    special = reply.opt_out or reply.opt_in or reply.handoff or reply.retry_later
    return not (special or snap.lead.opted_out or reply.outcome in RETRY_OUTCOMES)


async def apply_simple(
    connection: AsyncConnection, job: Claimed, snap: Snapshot, reply: AiReply
) -> tuple[str, list[Outgoing]] | None:
    """apply() of a simple() reply in one statement on the raw driver, committed alone; None when the
    AI no longer owns the conversation (then nothing changed: apply() in a transaction ends the job)."""
    values, body, message_id = _replied_values(job, snap, reply)
    held, owned = await replied_alone(connection, values)
    outgoing = _outgoing(job, snap, held, owned, body, message_id)
    if outgoing is None:
        return None
    if body:
        live.committed(connection.engine, live.MESSAGE_SENT, job.tenant_id, job.lead_id)
    return reply.outcome, outgoing


async def apply(
    session: AsyncSession, job: Claimed, snap: Snapshot, reply: AiReply, policy: Policy
) -> tuple[str, list[Outgoing]]:
    """Store what the model decided, in one transaction; returns (outcome, messages to hand to notify)."""
    jobs = ReplyJobRepository(session)
    if snap.lead.opted_out and not reply.opt_in:
        await _held(session, job)
        await jobs.finish(job.id, "cancelled", outcome="opted_out")
        return "opted_out", []
    if reply.retry_later or reply.outcome in RETRY_OUTCOMES:
        await _held(session, job)
        return await _failed_model(session, job, snap, reply, policy)
    outgoing = await _replied(session, job, snap, reply)
    if outgoing is None:
        await jobs.finish(job.id, "cancelled", outcome="human_took_over")
        return "human_took_over", []
    await _learn(session, job, snap, reply)
    return reply.outcome, outgoing


async def _replied(
    session: AsyncSession, job: Claimed, snap: Snapshot, reply: AiReply
) -> list[Outgoing] | None:
    """The reply's message, profile and job end in one statement: the messages to hand to notify, or
    None when the AI no longer owns the conversation (nothing changed)."""
    values, body, message_id = _replied_values(job, snap, reply)
    held, owned = await ReplyJobRepository(session).replied(values)
    outgoing = _outgoing(job, snap, held, owned, body, message_id)
    if outgoing:
        await live.publish(session, live.MESSAGE_SENT, job.tenant_id, job.lead_id)
    return outgoing


def _replied_values(job: Claimed, snap: Snapshot, reply: AiReply) -> tuple[dict[str, Any], str, uuid.UUID]:
    """(the reply statement's parameters, the message's text, its id)."""
    body = _clean(reply.text)
    message_id = job_message_id(job.id, "reply")
    values = {
        "job_id": job.id,
        "token": job.token,
        "tenant_id": job.tenant_id,
        "conversation_id": job.conversation_id,
        "lead_id": job.lead_id,
        "seen": snap.conversation.version,
        "message_id": message_id,
        "text": body,
        "at": snap.now,
        "raw": {"job_id": str(job.id), "attempt": job.attempts, "outcome": reply.outcome},
        "save_profile": bool(reply.profile or reply.score or reply.score_reasons),
        "fields": [p.__dict__ for p in reply.profile],
        "score": reply.score,
        "score_reasons": reply.score_reasons,
        "outcome": reply.outcome,
        "covered_until": snap.latest_inbound.created_at if snap.latest_inbound else None,
    }
    return values, body, message_id


def _outgoing(
    job: Claimed, snap: Snapshot, held: bool, owned: bool, body: str, message_id: uuid.UUID
) -> list[Outgoing] | None:
    if not held:
        raise LeaseLost(str(job.id))
    if not owned:
        return None
    if not body:
        return []
    channel = snap.conversation.channel_id
    return [Outgoing(job.tenant_id, message_id, snap.lead.phone, body, channel, snap.window_open)]


def _clean(text: str) -> str:
    return text.replace("\x00", "").strip()


async def _failed_model(
    session: AsyncSession, job: Claimed, snap: Snapshot, reply: AiReply, policy: Policy
) -> tuple[str, list[Outgoing]]:
    jobs = ReplyJobRepository(session)
    error = MODEL_FAILED_PREFIX + reply.outcome
    if not snap.window_open:
        await change_owner(session, snap.conversation.row(), "nobody", None, WINDOW_CLOSED, actor="system")
        await jobs.finish(job.id, "failed", outcome=WINDOW_CLOSED, last_error=error)
        return WINDOW_CLOSED, []
    outgoing: list[Outgoing] = []
    if not job.fallback_sent:
        ours = await OwnershipRepository(session).claim_for_ai(
            job.tenant_id, job.conversation_id, snap.conversation.version
        )
        if not ours:
            await jobs.finish(job.id, "cancelled", outcome="human_took_over")
            return "human_took_over", []
        stored = await _store(session, job, snap, reply.text, "fallback", reply.outcome)
        outgoing = [stored] if stored else []
    delay = retry_delay(job.attempts, policy.retry_first, policy.retry_cap)
    await jobs.retry_later(job.id, job.conversation_id, delay, error, True)
    return "retry_later", outgoing


async def _store(
    session: AsyncSession, job: Claimed, snap: Snapshot, text: str, purpose: str, outcome: str
) -> Outgoing | None:
    body = _clean(text)
    if not body:
        return None
    message_id = job_message_id(job.id, purpose)
    await OutboxRepository(session).add(
        {
            "id": message_id,
            "tenant_id": job.tenant_id,
            "lead_id": job.lead_id,
            "conversation_id": job.conversation_id,
            "direction": "outbound_ai",
            "provider": "",
            "kind": "text",
            "text": body,
            "status": "queued",
            "status_at": snap.now,
            "raw": {"job_id": str(job.id), "attempt": job.attempts, "outcome": outcome},
        }
    )
    await SnapshotQueries(session).count_message(job.tenant_id, job.lead_id, snap.now)
    await live.publish(session, live.MESSAGE_SENT, job.tenant_id, job.lead_id)
    conversation = snap.conversation
    return Outgoing(
        job.tenant_id, message_id, snap.lead.phone, body, conversation.channel_id, snap.window_open
    )


async def _learn(session: AsyncSession, job: Claimed, snap: Snapshot, reply: AiReply) -> None:
    """What a reply changes besides its message and the profile (stored with it): opt-out, handoff."""
    events = EventRepository(session)
    if reply.opt_out or reply.opt_in:
        values: dict[str, Any] = {"opted_out": reply.opt_out, "updated_at": func.now()}
        if reply.opt_out:
            values["status"] = "opted_out"
        elif snap.lead.status == "opted_out":
            values["status"] = "in_progress"
        await LeadQueries(session).update(job.tenant_id, job.lead_id, values)
        kind = "opt_out" if reply.opt_out else "opt_in"
        await events.add(job.tenant_id, job.conversation_id, kind, reason=kind, actor="lead")
    if reply.handoff:
        await change_owner(
            session,
            snap.conversation.row(),
            "nobody",
            None,
            AI_HANDOFF,
            actor="ai",
            detail=reply.handoff_reason,
        )
        await AssignmentRepository(session).request(job.tenant_id, job.conversation_id)
        await live.publish(session, live.HANDOFF, job.tenant_id, job.lead_id)
