"""Why didn't this lead get an answer? The chain of its last inbound message, link by link.

webhook → limits → opt-out → owner → reply job → AI call → delivery. Each link is ok, waiting (it will
happen on its own), broken, or skipped (after the first link that is not ok, or not applicable). The
verdict is the first link that is not ok, with what to do about it. What this service stores is read
in one transaction (`gather`); the AI calls and the delivery come from the ai and notify services
(`Lookups`), read after it; `diagnose` is pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from conversation import authz, errors
from conversation.domain import MODEL_FAILED_PREFIX, job_message_id
from conversation.leads import optional_id
from conversation.models import Lead, Message, MessageStatusEvent, ReplyJob
from conversation.repository import LeadRepository
from conversation.repository_diagnosis import DiagnosisRepository
from conversation.repository_jobs import OwnershipRepository
from conversation.service import parse_id
from kit import context as callctx
from kit.errors import PermissionDenied

DIAGNOSERS = frozenset({"superadmin", "admin", *authz.INTERNAL})
HUMAN_OUTCOMES = frozenset({"human_took_over", "human_owner", "not_ai_owner"})
MODEL_FAILED = frozenset({"fallback", "error", "breaker_open"})
SENT = frozenset({"sent", "delivered", "read"})


@dataclass(frozen=True)
class AiCall:
    attempt: int
    model: str
    outcome: str
    latency_ms: int
    at: datetime | None


@dataclass(frozen=True)
class DeliveryInfo:
    id: str
    status: str  # queued, sent, delivered, read, failed, dead
    attempts: int
    last_error: str
    error_code: str
    provider: str
    provider_message_id: str
    updated_at: datetime | None
    next_attempt_at: datetime | None


class Lookups(Protocol):
    async def calls(self, tenant_id: str, job_id: str) -> list[AiCall]: ...

    async def delivery(self, tenant_id: str, message_id: str) -> DeliveryInfo | None: ...


@dataclass(frozen=True)
class Stored:
    """What the conversation service itself knows about the lead's last inbound message."""

    lead: Lead
    message: Message | None
    owner: str
    owner_reason: str
    job: ReplyJob | None
    sent: Message | None  # what the job stored for the lead: its reply, else its fallback
    statuses: Sequence[MessageStatusEvent] = ()


@dataclass(frozen=True)
class Step:
    name: str
    state: str  # ok, waiting, broken, skipped
    summary: str
    at: datetime | None = None
    facts: dict[str, str] = field(default_factory=dict)
    verdict: str = "ok"


@dataclass(frozen=True)
class Diagnosis:
    lead_id: str
    message_id: str
    verdict: str
    broken_step: str
    advice: str
    steps: list[Step]


async def gather(session: AsyncSession, tenant_id: str, lead_id: str) -> Stored:
    role = callctx.get().role
    if role not in DIAGNOSERS:
        raise PermissionDenied(f"role {role!r} may not diagnose leads (admins only)")
    scope = authz.scope(optional_id(tenant_id, "tenant_id"))
    lead = await LeadRepository(session).get(scope.tenant_id, parse_id(lead_id, "lead_id"))
    if lead is None:
        raise errors.LeadNotFound()
    reads = DiagnosisRepository(session)
    message = await reads.last_inbound(lead.tenant_id, lead.id)
    conversation = await OwnershipRepository(session).by_lead(lead.tenant_id, lead.id)
    change = await reads.last_owner_change(lead.tenant_id, conversation.id) if conversation else None
    job = await reads.job_for(lead.tenant_id, message) if message else None
    sent: Message | None = None
    statuses: Sequence[MessageStatusEvent] = ()
    if job is not None:
        ids = [job_message_id(job.id, "reply"), job_message_id(job.id, "fallback")]
        stored = {m.id: m for m in await reads.messages(lead.tenant_id, ids)}
        sent = stored.get(ids[0]) or stored.get(ids[1])
        statuses = await reads.status_events(lead.tenant_id, [sent.id]) if sent else ()
    return Stored(
        lead,
        message,
        conversation.owner if conversation else "ai",
        change.reason if change else "",
        job,
        sent,
        statuses,
    )


async def run(stored: Stored, lookups: Lookups) -> Diagnosis:
    """Ask ai and notify about the job and its message (outside any transaction), then diagnose."""
    tenant = str(stored.lead.tenant_id)
    calls = await lookups.calls(tenant, str(stored.job.id)) if stored.job else []
    delivery = await lookups.delivery(tenant, str(stored.sent.id)) if stored.sent else None
    return diagnose(stored, calls, delivery)


def diagnose(stored: Stored, calls: list[AiCall], delivery: DeliveryInfo | None) -> Diagnosis:
    raw = [
        _webhook(stored),
        _limits(stored),
        _opt_out(stored),
        _owner(stored),
        _job(stored),
        _ai(stored, calls),
        _delivery(stored, delivery),
    ]
    steps: list[Step] = []
    first: Step | None = None
    for step in raw:
        if first is not None and step.state != "ok":
            step = replace(step, state="skipped")
        elif first is None and step.state in ("waiting", "broken"):
            first = step
        steps.append(step)
    verdict = first.verdict if first else "ok"
    return Diagnosis(
        lead_id=str(stored.lead.id),
        message_id=str(stored.message.id) if stored.message else "",
        verdict=verdict,
        broken_step=first.name if first else "",
        advice=advice(verdict, first or steps[-1]),
        steps=steps,
    )


def _webhook(s: Stored) -> Step:
    m = s.message
    if m is None:
        return Step("webhook", "broken", "the lead never wrote: nothing to answer", verdict="no_inbound")
    facts = {"provider": m.provider, "provider_message_id": m.external_id or "", "kind": m.kind}
    return Step("webhook", "ok", f"{m.provider} webhook received and stored", m.created_at, facts)


def _limits(s: Stored) -> Step:
    blocked = s.message.auto_reply_blocked if s.message else None
    if not blocked:
        return Step("limits", "ok", "no limit or suspension applied")
    verdict = "tenant_suspended" if blocked == "tenant_suspended" else "limit_hard"
    summary = "the tenant is suspended" if verdict == "tenant_suspended" else f"hard limit {blocked} applied"
    return Step("limits", "broken", summary, facts={"auto_reply_blocked": blocked}, verdict=verdict)


def _opt_out(s: Stored) -> Step:
    facts = {"opted_out": str(s.lead.opted_out).lower()}
    cancelled = s.job is not None and s.job.status == "cancelled" and s.job.outcome == "opted_out"
    if cancelled or (s.job is None and s.lead.opted_out):
        return Step("opt_out", "broken", "the lead opted out of automatic messages", None, facts, "opted_out")
    return Step("opt_out", "ok", "the lead accepts automatic messages", None, facts)


def _owner(s: Stored) -> Step:
    facts = {"owner": s.owner, "reason": s.owner_reason}
    job = s.job
    if job is not None and job.status == "cancelled" and job.outcome in HUMAN_OUTCOMES:
        return Step(
            "owner", "broken", "a person took over before the AI answered", None, facts, "human_owner"
        )
    if job is None and s.owner == "human":
        return Step("owner", "broken", "a person owns the conversation", None, facts, "human_owner")
    if job is None and s.owner == "nobody":
        return Step("owner", "broken", "handed off, waiting for a seller", None, facts, "handed_off")
    return Step("owner", "ok", f"conversation owned by {s.owner}", None, facts)


def _job(s: Stored) -> Step:
    job = s.job
    if job is None:
        return Step("reply_job", "broken", "no reply job was written for this message", verdict="no_job")
    facts = {
        "job_id": str(job.id),
        "status": job.status,
        "attempts": str(job.attempts),
        "run_after": job.run_after.isoformat() if job.run_after else "",
        "outcome": job.outcome or "",
        "last_error": job.last_error or "",
    }
    states = {
        "queued": ("waiting", f"reply scheduled for {facts['run_after']}", "job_pending"),
        "running": ("waiting", "a worker is generating the reply now", "job_running"),
        "retry_wait": ("ok", f"ran {job.attempts}x, next run at {facts['run_after']}", "ok"),
        "done": ("ok", f"done ({job.outcome})", "ok"),
        "failed": ("broken", f"failed: {job.outcome} ({job.last_error})", "job_failed"),
    }
    state, summary, verdict = states.get(
        job.status, ("broken", f"cancelled ({job.outcome})", "job_cancelled")
    )
    return Step("reply_job", state, summary, job.updated_at, facts, verdict)


def _ai(s: Stored, calls: list[AiCall]) -> Step:
    job = s.job
    if not calls:
        if job is not None and job.status == "retry_wait":
            error = job.last_error or ""
            if error.startswith(MODEL_FAILED_PREFIX):
                # ai answered with the fallback, and its call log row is not there (written a moment
                # after the reply, or lost with a crash): the job's own record says the model failed.
                facts = {"outcome": error.removeprefix(MODEL_FAILED_PREFIX), "last_error": error}
                summary = f"the model failed ({facts['outcome']})"
                return Step("ai", "broken", summary, job.updated_at, facts, "ai_fallback")
            facts = {"last_error": error}
            return Step("ai", "broken", "the ai service did not answer", None, facts, "ai_unavailable")
        return Step("ai", "skipped", "no AI call for this message")
    last = calls[-1]
    facts = {
        "outcome": last.outcome,
        "latency_ms": str(last.latency_ms),
        "model": last.model,
        "attempt": str(last.attempt),
        "calls": str(len(calls)),
    }
    if last.outcome in MODEL_FAILED and (job is None or job.status != "done"):
        summary = f"the model failed ({last.outcome}) after {last.latency_ms} ms"
        return Step("ai", "broken", summary, last.at, facts, "ai_fallback")
    return Step("ai", "ok", f"answered ({last.outcome}) in {last.latency_ms} ms", last.at, facts)


def _delivery(s: Stored, d: DeliveryInfo | None) -> Step:
    if s.sent is None:
        return Step("delivery", "skipped", "nothing was stored to send")
    facts = {"message_id": str(s.sent.id), "message_status": s.sent.status or ""}
    if s.statuses:
        last = s.statuses[-1]
        facts |= {"provider_status": last.status, "provider_error": last.error_title or last.error_code}
    if d is None:
        summary = "stored, not yet handed to notify" if s.sent.notify_pending else "not queued in notify"
        return Step("delivery", "waiting", summary, None, facts, "not_delivered_yet")
    facts |= {
        "delivery_id": d.id,
        "status": d.status,
        "attempts": str(d.attempts),
        "last_error": d.last_error,
        "provider": d.provider,
        "provider_message_id": d.provider_message_id,
    }
    return _delivery_state(s.sent, d, facts)


def _delivery_state(sent: Message, d: DeliveryInfo, facts: dict[str, str]) -> Step:
    if d.status == "dead":
        return Step("delivery", "broken", "gave up after every attempt", d.updated_at, facts, "delivery_dead")
    if d.status == "failed" or (d.status == "queued" and d.attempts > 0) or sent.status == "failed":
        summary = f"sending failed ({d.last_error or facts.get('provider_error', '')})"
        return Step("delivery", "broken", summary, d.updated_at, facts, "delivery_failed")
    if d.status in SENT:
        return Step("delivery", "ok", f"{d.status} by {d.provider}", d.updated_at, facts)
    return Step(
        "delivery", "waiting", "queued in notify, not sent yet", d.updated_at, facts, "not_delivered_yet"
    )


ADVICE = {
    "ok": "The lead was answered: the reply reached the provider. Nothing to do.",
    "no_inbound": "The lead never wrote to the business number, so there is nothing to answer.",
    "tenant_suspended": "The tenant is suspended: messages are stored but never answered automatically."
    " A superadmin must reactivate the tenant.",
    "limit_hard": "The tenant crossed a hard limit ({auto_reply_blocked}): the message was stored but gets"
    " no automatic reply. Raise the plan's limit, or answer this lead by hand.",
    "opted_out": "The lead sent an opt-out word (PARAR, SAIR, STOP): no automatic message until they send"
    " an opt-in word. Answer by hand only if the lead asked for it.",
    "human_owner": "A person owns this conversation, so the AI stays quiet by design."
    " Use 'return to AI' on the lead if the AI should answer again.",
    "handed_off": "The conversation was handed off and waits for a seller. Assign a seller, or return it"
    " to the AI.",
    "no_job": "No reply job was written for this message, which should not happen: check the conversation"
    " service's logs around the message time.",
    "job_pending": "The reply is scheduled (debounce window or retry backoff) for {run_after}. Wait; if it"
    " stays overdue, check that conversation workers run (vellarys_reply_queue_depth).",
    "job_running": "A worker is generating the reply right now. If it stays running past its lease,"
    " another worker takes the job over.",
    "job_failed": "The reply job failed ({outcome}: {last_error}); the conversation went to a person."
    " Answer the lead by hand.",
    "job_cancelled": "The reply job was cancelled ({outcome}). A newer message or a takeover replaced it.",
    "ai_unavailable": "The ai service did not answer ({last_error}); the job retries on its own. Check the"
    " ai service's health (/api/health/detailed).",
    "ai_fallback": "The model failed ({outcome}); the lead got the tenant's fallback message and the job"
    " re-runs when the model is back. Check OpenAI's status and the OpenAI latency alert.",
    "not_delivered_yet": "The reply is stored but not sent yet; notify sends it shortly. If it stays"
    " here, check the notify service.",
    "delivery_failed": "Sending failed ({last_error}); notify retries with backoff. Check the channel's"
    " credentials in settings and the provider's status.",
    "delivery_dead": "Sending failed on every attempt ({last_error}). Fix the channel, then replay it:"
    " POST /api/v1/deliveries/{delivery_id}/replay.",
}


def advice(verdict: str, step: Step) -> str:
    text = ADVICE.get(verdict, "")
    try:
        return text.format_map(_Blank(step.facts))
    except (ValueError, IndexError):
        return text


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"
