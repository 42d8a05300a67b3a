"""Use cases of the ai context. Those that touch the database run in the caller's transaction."""

from __future__ import annotations

import time
import uuid
import zoneinfo
from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ai import errors, offline, optout, pricing
from ai.models import Call
from ai.reply import Generated, Outcome, ReplyInput, Responder, from_offline
from ai.repository import CallRepository, UsageDay, add_calls_alone
from kit.errors import parse_id

ROLES = (offline.LEAD, offline.ASSISTANT, offline.SELLER)
MEDIA_MARKERS = {
    "image": "[imagem]",
    "audio": "[áudio]",
    "voice": "[áudio]",
    "video": "[vídeo]",
    "document": "[documento]",
    "sticker": "[figurinha]",
    "location": "[localização]",
    "contact": "[contato]",
}
DEFAULT_TIME_ZONE = "America/Sao_Paulo"
MAX_USAGE_DAYS = 366


def as_text(text: str, media_type: str) -> str:
    """What the responders read for a message: media without a caption becomes a marker."""
    if not media_type:
        return text
    marker = MEDIA_MARKERS.get(media_type.lower(), "[mídia]")
    return f"{marker} {text}".strip()


def validate(request: ReplyInput) -> tuple[uuid.UUID, uuid.UUID | None]:
    tenant = parse_id(request.tenant_id, "tenant_id")
    lead = parse_id(request.lead_id, "lead_id") if request.lead_id else None
    for index, turn in enumerate(request.history):
        if turn.role not in ROLES:
            raise errors.MissingField(f"history[{index}].role")
    return tenant, lead


def opt_reply(request: ReplyInput) -> Generated | None:
    """The confirmation when the lead's newest message is an opt-out (or opt-in) command."""
    pending = offline.latest_lead_turns(request.history)
    if not pending:
        return None
    last = pending[-1]
    out, back = optout.is_opt_out(last), optout.is_opt_in(last)
    if not (out or back):
        return None
    base = offline.respond(request.lead_name, request.history, request.profile)
    text = optout.OPT_OUT_CONFIRMATION if out else optout.OPT_IN_CONFIRMATION
    return Generated(
        text, base.profile, base.score, base.score_reasons, Outcome.OK, "rules", opt_out=out, opt_in=not out
    )


def offline_reply(request: ReplyInput) -> Generated:
    return from_offline(offline.respond(request.lead_name, request.history, request.profile))


async def generate_reply(request: ReplyInput, model: Responder | None) -> Generated:
    """The next message for the lead and what was learned; never raises because the model failed."""
    validate(request)
    started = time.perf_counter()
    reply = opt_reply(request)
    if reply is None:
        reply = await model.respond(request) if model is not None else offline_reply(request)
    return replace(reply, latency_ms=round((time.perf_counter() - started) * 1000))


def call_of(request: ReplyInput, reply: Generated, *, simulated: bool = False) -> Call:
    """The call-log row of one reply."""
    tenant, lead = validate(request)
    return Call(
        tenant_id=tenant,
        lead_id=lead,
        job_id=request.job_id[:100] or None,
        attempt=request.attempt,
        model=reply.model[:100],
        prompt_tokens=reply.prompt_tokens,
        completion_tokens=reply.completion_tokens,
        latency_ms=reply.latency_ms,
        outcome=reply.outcome.value,
        cost_usd=pricing.cost_usd(reply.model, reply.prompt_tokens, reply.completion_tokens),
        simulated=simulated,
    )


async def record_call(
    session: AsyncSession, request: ReplyInput, reply: Generated, *, simulated: bool = False
) -> None:
    """Log the call in the session's transaction."""
    await CallRepository(session).add(call_of(request, reply, simulated=simulated))


async def record_calls_alone(engine: AsyncEngine, calls: Sequence[Call]) -> None:
    """Log calls (call_of's rows) in one statement that commits alone (GenerateReply's log)."""
    await add_calls_alone(engine, calls)


def _day(value: str, field: str) -> date:
    if not value:
        raise errors.MissingField(field)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise errors.BadValue(field, f"{value!r} is not a date (YYYY-MM-DD)") from None


async def get_usage(
    session: AsyncSession, tenant_id: str, from_day: str, to_day: str, time_zone: str = ""
) -> Sequence[UsageDay]:
    tenant = parse_id(tenant_id, "tenant_id")
    first, last = _day(from_day, "from_day"), _day(to_day, "to_day")
    if last < first:
        raise errors.BadValue("to_day", "is before from_day")
    if (last - first).days >= MAX_USAGE_DAYS:
        raise errors.BadValue("to_day", f"the range may span at most {MAX_USAGE_DAYS} days")
    zone = time_zone or DEFAULT_TIME_ZONE
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise errors.BadValue("time_zone", f"{zone!r} is not an IANA time zone") from None
    return await CallRepository(session).usage_by_day(tenant, first, last, zone)
