"""The only module of the ai service that builds SQL."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Date, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ai.models import Call


@dataclass
class UsageDay:
    day: date
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    unpriced_calls: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


class CallRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, call: Call) -> None:
        self.session.add(call)
        await self.session.flush()

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
            )
            .where(Call.tenant_id == tenant_id)
            # A day-wide margin on the indexed column, then the exact local-day filter.
            .where(Call.created_at >= first - timedelta(days=1), Call.created_at < last + timedelta(days=2))
            .where(day >= first, day <= last)
            .group_by(day, Call.outcome)
            .order_by(day)
        )
        days: dict[date, UsageDay] = {}
        for row_day, outcome, calls, prompt, completion, cost, unpriced in await self.session.execute(query):
            usage = days.setdefault(row_day, UsageDay(row_day))
            usage.calls += calls
            usage.prompt_tokens += int(prompt or 0)
            usage.completion_tokens += int(completion or 0)
            usage.cost_usd += float(cost or 0)
            usage.unpriced_calls += unpriced
            usage.outcomes[outcome] = calls
        return list(days.values())
