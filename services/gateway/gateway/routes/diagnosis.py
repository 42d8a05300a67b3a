"""GET /api/v1/leads/{id}/diagnosis — "why didn't this lead get an answer?" (the runbook's first case).

Admins see their own tenant's leads (another tenant's lead is 404, like any lead read); the superadmin
any tenant with ``?tenant_id=``. The conversation service assembles the chain and re-checks the caller.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from gateway.auth import Principal, require_roles
from vellarys.conversation.v1 import conversation_pb2 as pb

router = APIRouter(prefix="/api/v1/leads", tags=["leads"])
admins = require_roles("superadmin", "admin")


class StepOut(BaseModel):
    name: str = Field(description="webhook, limits, opt_out, owner, reply_job, ai, delivery")
    state: str = Field(description="ok, waiting, broken, skipped")
    summary: str
    at: datetime | None
    facts: dict[str, str]


class DiagnosisOut(BaseModel):
    lead_id: str
    message_id: str | None = Field(description="The last inbound message diagnosed; null if none")
    verdict: str = Field(
        description="The first broken link: ok, no_inbound, tenant_suspended, limit_hard, opted_out,"
        " human_owner, handed_off, no_job, job_pending, job_running, job_failed, job_cancelled,"
        " ai_unavailable, ai_fallback, not_delivered_yet, delivery_failed, delivery_dead"
    )
    broken_step: str | None
    advice: str = Field(description="What to do about it")
    steps: list[StepOut]


def _step(s: pb.DiagnosisStep) -> StepOut:
    at = s.at.ToDatetime(tzinfo=UTC) if s.HasField("at") else None
    return StepOut(name=s.name, state=s.state, summary=s.summary, at=at, facts=dict(s.facts))


@router.get("/{lead_id}/diagnosis", summary="Why didn't this lead get an answer? (admins)")
async def diagnose_lead(
    lead_id: uuid.UUID,
    request: Request,
    tenant_id: uuid.UUID | None = Query(default=None, description="Superadmin only: another tenant"),
    principal: Principal = Depends(admins),
) -> DiagnosisOut:
    reply = await request.app.state.clients.conversation.DiagnoseLead(
        pb.DiagnoseLeadRequest(tenant_id=str(tenant_id or ""), lead_id=str(lead_id)),
        metadata=principal.metadata(),
    )
    return DiagnosisOut(
        lead_id=reply.lead_id,
        message_id=reply.message_id or None,
        verdict=reply.verdict,
        broken_step=reply.broken_step or None,
        advice=reply.advice,
        steps=[_step(s) for s in reply.steps],
    )
