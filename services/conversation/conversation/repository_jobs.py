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

from sqlalchemy import Row, and_, bindparam, column, func, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from conversation.domain import Debounce
from conversation.models import Conversation, ConversationEvent, Lead, LeadProfile, Message, ReplyJob
from kit import db

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


# The reply path's statements (a few per reply, at every reply) as SQL text too: compiled once, and
# without the ORM's per-execution work.
# The claim and, for each claimed job, what its reply reads besides the history, in one statement.
_CLAIM_WITH_STATE = db.Raw(
    "WITH due AS (SELECT id FROM conversation.reply_jobs"
    " WHERE status IN ('queued', 'retry_wait') AND run_after <= now()"
    " ORDER BY run_after LIMIT :limit FOR UPDATE SKIP LOCKED),"
    " expired AS (SELECT id FROM conversation.reply_jobs WHERE status = 'running' AND locked_until < now()"
    " ORDER BY locked_until LIMIT (:limit - (SELECT count(*) FROM due)) FOR UPDATE SKIP LOCKED),"
    " claimed AS (UPDATE conversation.reply_jobs SET status = 'running', locked_by = :token,"
    " locked_until = now() + make_interval(secs => :lease), attempts = attempts + 1, updated_at = now()"
    " WHERE id IN (SELECT id FROM due UNION ALL SELECT id FROM expired)"
    " RETURNING id, tenant_id, conversation_id, lead_id, attempts, fallback_sent, traceparent, tracestate)"
    " SELECT j.id, j.tenant_id, j.conversation_id, j.lead_id, j.attempts, j.fallback_sent, j.traceparent,"
    " j.tracestate, c.id IS NOT NULL AND l.id IS NOT NULL AS found, c.channel_id, c.owner, c.version,"
    " c.last_inbound_at, l.name, l.phone, l.opted_out, l.status, p.fields AS profile,"
    " (SELECT max(r.covered_until) FROM conversation.reply_jobs r"
    "  WHERE r.tenant_id = j.tenant_id AND r.conversation_id = j.conversation_id) AS covered_until,"
    # The lead's newest messages, newest first, only the columns a reply reads (not the raw payload).
    " (SELECT array_agg(ROW(h.direction, h.kind, h.text, h.caption, h.sent_at, h.created_at)"
    "   ORDER BY h.created_at DESC, h.id DESC)"
    "  FROM (SELECT m.id, m.direction, m.kind, m.text, m.media ->> 'caption' AS caption, m.sent_at,"
    "   m.created_at FROM conversation.messages m WHERE m.tenant_id = j.tenant_id AND m.lead_id = j.lead_id"
    "   ORDER BY m.created_at DESC, m.id DESC LIMIT :history) h) AS history,"
    " now() AS now"
    " FROM claimed j"
    " LEFT JOIN conversation.conversations c ON c.tenant_id = j.tenant_id AND c.id = j.conversation_id"
    " LEFT JOIN conversation.leads l ON l.tenant_id = j.tenant_id AND l.id = j.lead_id"
    " LEFT JOIN conversation.lead_profiles p ON p.lead_id = j.lead_id AND p.tenant_id = j.tenant_id"
)
_HELD = text(
    "SELECT id FROM conversation.reply_jobs"
    " WHERE id = :id AND locked_by = :token AND status = 'running' FOR UPDATE"
)
# What a reply needs to know besides the history, in one round trip (with the database's clock).
_SNAPSHOT = text(
    "SELECT c.channel_id, c.owner, c.version, c.last_inbound_at, l.name, l.phone, l.opted_out, l.status,"
    " p.fields AS profile,"
    " (SELECT max(r.covered_until) FROM conversation.reply_jobs r"
    "  WHERE r.tenant_id = c.tenant_id AND r.conversation_id = c.id) AS covered_until,"
    " now() AS now"
    " FROM conversation.conversations c"
    " JOIN conversation.leads l ON l.tenant_id = c.tenant_id AND l.id = :lead_id"
    " LEFT JOIN conversation.lead_profiles p ON p.lead_id = l.id AND p.tenant_id = c.tenant_id"
    " WHERE c.tenant_id = :tenant_id AND c.id = :conversation_id"
).columns(
    column("channel_id"), column("owner"), column("version"), column("last_inbound_at"), column("name"),
    column("phone"), column("opted_out"), column("status"), column("profile", JSONB),
    column("covered_until"), column("now"),
)  # fmt: skip
# The newest messages, only the columns a reply reads (not the provider's raw payload).
_HISTORY = text(
    "SELECT direction, kind, text, media ->> 'caption' AS caption, sent_at, created_at"
    " FROM conversation.messages WHERE tenant_id = :tenant_id AND lead_id = :lead_id"
    " ORDER BY created_at DESC, id DESC LIMIT :limit"
)
_CLAIM_FOR_AI = text(
    "UPDATE conversation.conversations SET version = version + 1"
    " WHERE tenant_id = :tenant_id AND id = :conversation_id AND version = :seen AND owner = 'ai'"
    " RETURNING id"
)
_PROFILE_SAVE = text(
    "INSERT INTO conversation.lead_profiles (lead_id, tenant_id, fields, score, score_reasons, updated_at)"
    " VALUES (:lead_id, :tenant_id, :fields, :score, :score_reasons, now())"
    " ON CONFLICT (lead_id) DO UPDATE SET fields = excluded.fields, score = excluded.score,"
    " score_reasons = excluded.score_reasons, updated_at = now()"
).bindparams(bindparam("fields", type_=JSONB), bindparam("score_reasons", type_=JSONB))
_OUTBOX_COLUMNS = (
    "id", "tenant_id", "lead_id", "conversation_id", "direction", "provider", "kind", "text", "status",
    "status_at", "raw",
)  # fmt: skip
_OUTBOX_ADD = text(
    f"INSERT INTO conversation.messages ({', '.join(_OUTBOX_COLUMNS)}, notify_pending)"
    f" VALUES ({', '.join(':' + c for c in _OUTBOX_COLUMNS)}, true)"
    " ON CONFLICT (id) DO NOTHING RETURNING id"
).bindparams(bindparam("raw", type_=JSONB))
_COUNT_MESSAGE = text(
    "UPDATE conversation.leads SET message_count = message_count + 1,"
    # GREATEST ignores NULL and keeps a late provider retry from moving time backwards.
    " last_message_at = greatest(last_message_at, :at) WHERE tenant_id = :tenant_id AND id = :lead_id"
)


# A reply that the model answered, stored in one statement (the common case, at every reply): only
# while this claim still holds the job (`held`, its row locked) and the AI still owns the conversation
# at the version the snapshot read (`owned`, bumped) are the message stored (with the lead's count),
# the profile saved and the job done. Nothing changes otherwise; the caller sees which check failed.
_REPLIED_SQL = (
    "WITH held AS (SELECT id FROM conversation.reply_jobs"
    "  WHERE id = :job_id AND locked_by = :token AND status = 'running' FOR UPDATE),"
    " owned AS (UPDATE conversation.conversations SET version = version + 1"
    "  WHERE tenant_id = :tenant_id AND id = :conversation_id AND version = :seen AND owner = 'ai'"
    "  AND EXISTS (SELECT 1 FROM held) RETURNING id),"
    " stored AS (INSERT INTO conversation.messages (id, tenant_id, lead_id, conversation_id, direction,"
    "  provider, kind, text, status, status_at, raw, notify_pending)"
    "  SELECT :message_id, :tenant_id, :lead_id, :conversation_id, 'outbound_ai', '', 'text', :text,"
    "  'queued', :at, :raw, true FROM owned WHERE :text <> ''"
    "  ON CONFLICT (id) DO NOTHING RETURNING id),"
    " counted AS (UPDATE conversation.leads SET message_count = message_count + 1,"
    "  last_message_at = greatest(last_message_at, :at)"
    "  WHERE tenant_id = :tenant_id AND id = :lead_id AND :text <> '' AND EXISTS (SELECT 1 FROM owned)"
    "  RETURNING id),"
    " profiled AS (INSERT INTO conversation.lead_profiles"
    "  (lead_id, tenant_id, fields, score, score_reasons, updated_at)"
    "  SELECT :lead_id, :tenant_id, :fields, :score, :score_reasons, now() FROM owned WHERE :save_profile"
    "  ON CONFLICT (lead_id) DO UPDATE SET fields = excluded.fields, score = excluded.score,"
    "  score_reasons = excluded.score_reasons, updated_at = now() RETURNING lead_id),"
    " finished AS (UPDATE conversation.reply_jobs SET status = 'done', locked_by = NULL,"
    "  locked_until = NULL, outcome = :outcome, covered_until = :covered_until, last_error = NULL,"
    "  updated_at = now() WHERE id = :job_id AND EXISTS (SELECT 1 FROM owned) RETURNING id)"
    " SELECT EXISTS (SELECT 1 FROM held) AS held, EXISTS (SELECT 1 FROM owned) AS owned"
)
_REPLIED = text(_REPLIED_SQL).bindparams(
    bindparam("raw", type_=JSONB), bindparam("fields", type_=JSONB), bindparam("score_reasons", type_=JSONB)
)
# The same on the raw driver, for a simple reply that commits alone (ReplyWorker).
_REPLIED_RAW = db.Raw(_REPLIED_SQL, jsonb=("raw", "fields", "score_reasons"))


_HANDED_SQL = (
    "UPDATE conversation.messages m SET notify_pending = false"
    " FROM unnest(CAST(:tenants AS uuid[]), CAST(:ids AS uuid[])) AS h(tenant_id, id)"
    " WHERE m.tenant_id = h.tenant_id AND m.id = h.id AND m.notify_pending"
)
_HANDED = text(_HANDED_SQL)
_HANDED_RAW = db.Raw(_HANDED_SQL)


def _handed_params(messages: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> dict[str, list[uuid.UUID]]:
    return {"tenants": [t for t, _ in messages], "ids": [m for _, m in messages]}


async def handed_alone(connection: AsyncConnection, messages: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> None:
    """OutboxRepository.handed() of many (tenant id, message id) pairs, in one statement on the raw driver
    that commits alone."""
    await _HANDED_RAW.fetch(connection, _handed_params(messages))


class Fields(dict[str, Any]):
    """A row of the raw driver, read by attribute as SQLAlchemy's rows are (row.tenant_id)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


HISTORY_COLUMNS = ("direction", "kind", "text", "caption", "sent_at", "created_at")


async def claim_with_state(
    connection: AsyncConnection, token: str, lease: float, limit: int, history: int
) -> list[Fields]:
    """Due pending jobs first, then jobs whose worker's lease ran out, each to one claimer; each row
    with its snapshot's state (found False: the conversation or lead is gone) and `history`: the
    lead's newest `history` messages, newest first. One statement on the raw driver, committed alone."""
    values = {"token": token, "lease": float(lease), "limit": limit, "history": history}
    claimed = []
    for row in await _CLAIM_WITH_STATE.fetch(connection, values):
        fields = Fields(row.items())
        fields["history"] = [Fields(zip(HISTORY_COLUMNS, m, strict=True)) for m in row["history"] or ()]
        claimed.append(fields)
    return claimed


async def replied_alone(connection: AsyncConnection, values: dict[str, Any]) -> tuple[bool, bool]:
    """ReplyJobRepository.replied, as one statement on the raw driver that commits alone."""
    row = (await _REPLIED_RAW.fetch(connection, values))[0]
    return bool(row["held"]), bool(row["owned"])


# The queue-depth gauge counts due jobs up to this many. Counting them all walked the whole due
# index every REPLY_METRICS_SECONDS in every replica: with a backlog of 200,000 (workers stopped, as
# in the ingest bench, or the model down for a while) that was 20-45 ms of Postgres CPU each time,
# growing with the backlog. The oldest job is the index's first entry.
QUEUE_DEPTH_CAP = 10_000
_DUE = "status IN ('queued', 'retry_wait') AND run_after <= now()"  # ix_reply_jobs_due's predicate
_QUEUE_STATS = text(
    f"SELECT (SELECT count(*) FROM (SELECT 1 FROM conversation.reply_jobs WHERE {_DUE} LIMIT :cap) AS d),"
    " coalesce(extract(epoch FROM now() - (SELECT run_after FROM conversation.reply_jobs"
    f" WHERE {_DUE} ORDER BY run_after LIMIT 1)), 0)"
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

    async def held(self, job_id: uuid.UUID, token: str) -> bool:
        """True (and the row locked) while this claim still owns the job (another worker may have
        re-claimed it after our lease ran out)."""
        found = await self.session.execute(_HELD, {"id": job_id, "token": token})
        return found.scalar_one_or_none() is not None

    async def replied(self, values: dict[str, Any]) -> tuple[bool, bool]:
        """(held, owned): run _REPLIED with `values` keyed by its parameters."""
        row = (await self.session.execute(_REPLIED, values)).one()
        return bool(row.held), bool(row.owned)

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

    async def queue_stats(self, cap: int = QUEUE_DEPTH_CAP) -> tuple[int, float]:
        """(jobs due now, counted up to `cap`; seconds the oldest due one has waited past its
        run_after), both read from the due index without walking all of it."""
        row = (await self.session.execute(_QUEUE_STATS, {"cap": cap})).one()
        return int(row[0]), float(row[1])


class SnapshotQueries:
    """The reads of a reply job: its conversation, lead, profile and history."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def state(
        self, tenant_id: uuid.UUID, conversation_id: uuid.UUID, lead_id: uuid.UUID
    ) -> Row[Any] | None:
        params = {"tenant_id": tenant_id, "conversation_id": conversation_id, "lead_id": lead_id}
        return (await self.session.execute(_SNAPSHOT, params)).one_or_none()

    async def history(self, tenant_id: uuid.UUID, lead_id: uuid.UUID, limit: int) -> Sequence[Row[Any]]:
        """Newest first."""
        params = {"tenant_id": tenant_id, "lead_id": lead_id, "limit": limit}
        return (await self.session.execute(_HISTORY, params)).all()

    async def count_message(self, tenant_id: uuid.UUID, lead_id: uuid.UUID, at: datetime) -> None:
        """LeadRepository.count_message, as SQL text for the reply path."""
        await self.session.execute(_COUNT_MESSAGE, {"tenant_id": tenant_id, "lead_id": lead_id, "at": at})


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
        params = {
            "tenant_id": tenant_id, "lead_id": lead_id, "fields": fields, "score": score,
            "score_reasons": reasons,
        }  # fmt: skip
        await self.session.execute(_PROFILE_SAVE, params)


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
        params = {"tenant_id": tenant_id, "conversation_id": conversation_id, "seen": seen}
        return (await self.session.execute(_CLAIM_FOR_AI, params)).scalar_one_or_none() is not None

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
        params = {c: values[c] for c in _OUTBOX_COLUMNS}
        return (await self.session.execute(_OUTBOX_ADD, params)).scalar_one_or_none() is not None

    async def handed(self, tenant_id: uuid.UUID, message_id: uuid.UUID) -> None:
        await self.session.execute(_HANDED, _handed_params([(tenant_id, message_id)]))

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
