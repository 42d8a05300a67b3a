"""The only module of the ai service that builds SQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Date, cast, delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ai.models import Call, SimulatorCase, SimulatorRun
from kit import db


@dataclass
class UsageDay:
    day: date
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    unpriced_calls: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    simulated_calls: int = 0
    simulated_cost_usd: float = 0.0


_CALL_COLUMNS = (
    "id", "tenant_id", "lead_id", "job_id", "attempt", "model", "prompt_tokens", "completion_tokens",
    "latency_ms", "outcome", "cost_usd", "simulated",
)  # fmt: skip
_CALL_INSERT = text(
    f"INSERT INTO ai.calls ({', '.join(_CALL_COLUMNS)}) VALUES ({', '.join(':' + c for c in _CALL_COLUMNS)})"
)


# Many rows in one statement: one array per column, of the column's type.
_CALL_TYPES = {
    "id": "uuid", "tenant_id": "uuid", "lead_id": "uuid", "job_id": "text", "attempt": "int",
    "model": "text", "prompt_tokens": "int", "completion_tokens": "int", "latency_ms": "int",
    "outcome": "text", "cost_usd": "numeric", "simulated": "boolean",
}  # fmt: skip
assert tuple(_CALL_TYPES) == _CALL_COLUMNS
_CALLS_INSERT_MANY = (
    f"INSERT INTO ai.calls ({', '.join(_CALL_COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"${i}::{t}[]" for i, t in enumerate(_CALL_TYPES.values(), 1))
    + ")"
)


def _call_params(call: Call) -> dict[str, Any]:
    params = {c: getattr(call, c) for c in _CALL_COLUMNS}
    params["id"] = call.id = call.id or uuid.uuid4()
    for name in ("attempt", "prompt_tokens", "completion_tokens"):
        params[name] = params[name] or 0
    params["simulated"] = bool(params["simulated"])
    return params


async def add_calls_alone(engine: AsyncEngine, calls: Sequence[Call]) -> None:
    """CallRepository.add of many calls as one statement on the raw driver that commits alone
    (GenerateReply's log)."""
    rows = [_call_params(call) for call in calls]
    await db.fetch(engine, _CALLS_INSERT_MANY, *([row[c] for row in rows] for c in _CALL_COLUMNS))


class CallRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, call: Call) -> None:
        """Insert the call in the session's transaction (SQL text, without the ORM's unit of work)."""
        await self.session.execute(_CALL_INSERT, _call_params(call))

    async def usage_by_day(self, tenant_id: uuid.UUID, first: date, last: date, zone: str) -> list[UsageDay]:
        """Days with calls, oldest first; days are counted in `zone` (the tenant's clock)."""
        day = cast(func.timezone(zone, Call.created_at), Date).label("day")
        query = (
            select(
                day,
                Call.outcome,
                func.count(),
                func.sum(Call.prompt_tokens),
                func.sum(Call.completion_tokens),
                func.sum(Call.cost_usd),
                func.count().filter(Call.cost_usd.is_(None)),
                func.count().filter(Call.simulated),
                func.sum(Call.cost_usd).filter(Call.simulated),
            )
            .where(Call.tenant_id == tenant_id)
            # A day-wide margin on the indexed column, then the exact local-day filter.
            .where(Call.created_at >= first - timedelta(days=1), Call.created_at < last + timedelta(days=2))
            .where(day >= first, day <= last)
            .group_by(day, Call.outcome)
            .order_by(day)
        )
        days: dict[date, UsageDay] = {}
        for row in await self.session.execute(query):
            row_day, outcome, calls, prompt, completion, cost, unpriced, simulated, simulated_cost = row
            usage = days.setdefault(row_day, UsageDay(row_day))
            usage.calls += calls
            usage.prompt_tokens += int(prompt or 0)
            usage.completion_tokens += int(completion or 0)
            usage.cost_usd += float(cost or 0)
            usage.unpriced_calls += unpriced
            usage.outcomes[outcome] = calls
            usage.simulated_calls += simulated
            usage.simulated_cost_usd += float(simulated_cost or 0)
        return list(days.values())


class SimulatorCaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, case: SimulatorCase) -> bool:
        """False when the tenant already has a case with this name (the unique index decides)."""
        return await self._flush(case)

    async def save(self, case: SimulatorCase) -> bool:
        """Writes the changes of a loaded case; False on a name clash."""
        return await self._flush(case)

    async def _flush(self, case: SimulatorCase) -> bool:
        try:
            async with self.session.begin_nested():
                self.session.add(case)
                await self.session.flush()
        except IntegrityError:
            return False
        await self.session.refresh(case)
        return True

    async def get(self, tenant_id: uuid.UUID, case_id: uuid.UUID) -> SimulatorCase | None:
        query = select(SimulatorCase).where(SimulatorCase.tenant_id == tenant_id, SimulatorCase.id == case_id)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def find(self, tenant_id: uuid.UUID, ids: list[uuid.UUID] | None = None) -> list[SimulatorCase]:
        query = select(SimulatorCase).where(SimulatorCase.tenant_id == tenant_id)
        if ids is not None:
            query = query.where(SimulatorCase.id.in_(ids))
        query = query.order_by(SimulatorCase.name, SimulatorCase.id)
        return list((await self.session.execute(query)).scalars())

    async def count(self, tenant_id: uuid.UUID) -> int:
        query = select(func.count()).select_from(SimulatorCase).where(SimulatorCase.tenant_id == tenant_id)
        return int((await self.session.execute(query)).scalar_one())

    async def delete(self, tenant_id: uuid.UUID, case_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            delete(SimulatorCase).where(SimulatorCase.tenant_id == tenant_id, SimulatorCase.id == case_id)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


class SimulatorRunRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, run: SimulatorRun) -> None:
        self.session.add(run)
        await self.session.flush()

    async def latest(self, tenant_id: uuid.UUID, limit: int) -> list[SimulatorRun]:
        query = (
            select(SimulatorRun)
            .where(SimulatorRun.tenant_id == tenant_id)
            .order_by(SimulatorRun.started_at.desc(), SimulatorRun.id)
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars())
