"""The call log of one reply job, for the lead diagnosis ("why didn't this lead get an answer?").

Kept apart from the usage reports: a read of a few rows by (tenant, job), encoded here so the
servicer stays one line. The tenant filter is on every query, like every other read of the log.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ai import codec, errors
from ai.models import Call
from ai.reply import Outcome
from ai.service import parse_id
from kit.timestamps import timestamp_or_empty
from vellarys.ai.v1 import ai_pb2 as pb

MAX_CALLS = 50
KNOWN_OUTCOMES = frozenset(o.value for o in Outcome)


async def list_job_calls(session: AsyncSession, tenant_id: str, job_id: str) -> Sequence[Call]:
    tenant = parse_id(tenant_id, "tenant_id")
    if not job_id:
        raise errors.MissingField("job_id")
    query = (
        select(Call)
        .where(Call.tenant_id == tenant, Call.job_id == job_id[:100], Call.simulated.is_(False))
        .order_by(Call.created_at, Call.attempt)
        .limit(MAX_CALLS)
    )
    return (await session.execute(query)).scalars().all()


def encode_call(call: Call) -> pb.JobCall:
    known = call.outcome in KNOWN_OUTCOMES
    outcome = codec.OUTCOMES[Outcome(call.outcome)] if known else pb.OUTCOME_UNSPECIFIED
    return pb.JobCall(
        id=str(call.id),
        attempt=call.attempt,
        model=call.model,
        outcome=outcome,
        latency_ms=call.latency_ms,
        created_at=timestamp_or_empty(call.created_at),
    )
