"""Use cases of the ai context. They run inside the caller's transaction and never commit."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from ai import errors, offline
from ai.extract import Fact
from ai.models import Call
from ai.repository import CallRepository

ROLES = (offline.LEAD, offline.ASSISTANT, offline.SELLER)


def parse_id(value: str, field: str) -> uuid.UUID:
    if not value:
        raise errors.MissingField(field)
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError):
        raise errors.NotAUuid(field, value) from None


def _validate(history: Sequence[offline.Turn]) -> None:
    for index, turn in enumerate(history):
        if turn.role not in ROLES:
            raise errors.MissingField(f"history[{index}].role")


async def generate_reply(
    session: AsyncSession,
    *,
    tenant_id: str,
    lead_id: str,
    lead_name: str,
    history: Sequence[offline.Turn],
    profile: Sequence[Fact],
) -> offline.Reply:
    """The next message for the lead, with what was learned; every call is logged with its latency."""
    tenant = parse_id(tenant_id, "tenant_id")
    lead = parse_id(lead_id, "lead_id") if lead_id else None
    _validate(history)
    started = time.perf_counter()
    reply = offline.respond(lead_name, history, profile)
    latency_ms = round((time.perf_counter() - started) * 1000)
    await CallRepository(session).add(
        Call(
            tenant_id=tenant,
            lead_id=lead,
            model=reply.model,
            prompt_tokens=0,
            completion_tokens=0,
            latency_ms=latency_ms,
            outcome="ok",
        )
    )
    return reply
