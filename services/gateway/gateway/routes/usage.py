"""AI usage per day (admins: their tenant; the superadmin: any, with ?tenant_id=)."""

from __future__ import annotations

import uuid
from datetime import date

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from gateway.auth import Principal, require_roles
from vellarys.ai.v1 import ai_pb2 as pb

router = APIRouter(prefix="/api/v1/usage", tags=["usage"])
admins = require_roles("superadmin", "admin")
MAX_DAYS = 366


class UsageDayOut(BaseModel):
    day: date
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float = Field(description="Estimated; calls to models without a known price count as 0")
    unpriced_calls: int
    simulated_calls: int = Field(description="Of `calls`, made by the dashboard's simulator")
    simulated_cost_usd: float
    outcomes: dict[str, int] = Field(description="ok, fallback, error, breaker_open, offline → calls")


class UsageOut(BaseModel):
    from_day: date = Field(serialization_alias="from")
    to_day: date = Field(serialization_alias="to")
    days: list[UsageDayOut] = Field(description="Days with calls, oldest first")
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    simulated_calls: int


def invalid(field: str, problem: str) -> RequestValidationError:
    """The same 422 body as any other invalid query parameter, naming the field."""
    return RequestValidationError([{"loc": ("query", field), "msg": problem, "type": "value_error"}])


def check_range(first: date, last: date) -> None:
    if last < first:
        raise invalid("to", "must not be before from")
    if (last - first).days >= MAX_DAYS:
        raise invalid("to", f"the range may span at most {MAX_DAYS} days")


def day_out(d: pb.UsageDay) -> UsageDayOut:
    return UsageDayOut(
        day=date.fromisoformat(d.day), calls=d.calls, prompt_tokens=d.prompt_tokens,
        completion_tokens=d.completion_tokens, cost_usd=round(d.cost_usd, 6), unpriced_calls=d.unpriced_calls,
        simulated_calls=d.simulated_calls, simulated_cost_usd=round(d.simulated_cost_usd, 6),
        outcomes=dict(d.outcomes),
    )  # fmt: skip


@router.get("", summary="AI calls, tokens, estimated cost and outcomes per day")
async def usage(
    request: Request,
    from_day: date = Query(alias="from", description="YYYY-MM-DD, inclusive"),
    to_day: date = Query(alias="to", description="YYYY-MM-DD, inclusive"),
    time_zone: str = Query(default="", max_length=64, description="IANA zone; default America/Sao_Paulo"),
    tenant_id: uuid.UUID | None = Query(default=None, description="Superadmin only: another tenant"),
    principal: Principal = Depends(admins),
) -> UsageOut:
    check_range(from_day, to_day)
    reply = await request.app.state.clients.ai.GetUsage(
        pb.GetUsageRequest(
            tenant_id=str(tenant_id or ""), from_day=from_day.isoformat(), to_day=to_day.isoformat(),
            time_zone=time_zone,
        ),
        metadata=principal.metadata(),
    )  # fmt: skip
    days = [day_out(d) for d in reply.days]
    return UsageOut(
        from_day=from_day, to_day=to_day, days=days, calls=sum(d.calls for d in days),
        prompt_tokens=sum(d.prompt_tokens for d in days),
        completion_tokens=sum(d.completion_tokens for d in days),
        cost_usd=round(sum(d.cost_usd for d in days), 6),
        simulated_calls=sum(d.simulated_calls for d in days),
    )  # fmt: skip
