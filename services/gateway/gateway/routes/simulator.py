"""The simulator (admins): try the AI on a made-up conversation, save test cases, re-run them.

Everything runs in the ai service against the tenant's current AI settings and catalog; nothing here
touches leads or WhatsApp. Replies take seconds with a model, so these calls get longer deadlines.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field, field_validator

from gateway.auth import Principal, require_roles
from vellarys.ai.v1 import ai_pb2 as pb

router = APIRouter(prefix="/api/v1/simulator", tags=["simulator"])
admins = require_roles("superadmin", "admin")
TenantQuery = Query(default=None, description="Superadmin only: another tenant")
# One reply may use the whole model deadline (15 s); a run answers up to 50 cases, 4 at a time.
SIMULATE_TIMEOUT = 20.0
RUN_TIMEOUT = 240.0
ROLE_TO_PB = {"lead": pb.ROLE_LEAD, "assistant": pb.ROLE_ASSISTANT}
PB_TO_ROLE = {v: k for k, v in ROLE_TO_PB.items()}
FieldName = Literal["purpose", "property_type", "region", "bedrooms", "budget", "timeline", "financing"]
Phrase = Annotated[str, Field(min_length=1, max_length=200)]


class MessageIn(BaseModel):
    role: Literal["lead", "assistant"]
    text: str = Field(max_length=4000)


class ProfileField(BaseModel):
    name: FieldName
    value: str = Field(min_length=1, max_length=200)
    evidence: str = Field(default="", max_length=300)
    confidence: float = Field(default=1.0, ge=0, le=1)


class Conversation(BaseModel):
    messages: list[MessageIn] = Field(min_length=1, max_length=50)
    lead_name: str = Field(default="", max_length=100)
    profile: list[ProfileField] = Field(default_factory=list, max_length=20)

    @field_validator("messages")
    @classmethod
    def _ends_with_lead(cls, messages: list[MessageIn]) -> list[MessageIn]:
        if messages[-1].role != "lead":
            raise ValueError("must end with the lead's message(s) being answered")
        return messages


class FieldOut(BaseModel):
    name: str
    value: str
    evidence: str = Field(description="The lead's words the value came from")
    confidence: float


class ToolCallOut(BaseModel):
    name: str
    arguments: Any
    result_summary: str


class SimulateOut(BaseModel):
    reply: str
    fields: list[FieldOut]
    score: int = Field(description="0–100, explained by score_reasons")
    score_reasons: list[str]
    tool_calls: list[ToolCallOut]
    handoff: bool
    handoff_reason: str
    outcome: str = Field(description="ok, fallback, error, breaker_open or offline")
    model: str
    latency_ms: int
    prompt_tokens: int
    completion_tokens: int
    opt_out: bool
    opt_in: bool


class Expectations(BaseModel):
    """Unset parts are not checked. Field values compare case- and accent-insensitively, canonical
    ("buy") or as displayed ("comprar"); an empty value expects the field not to be extracted."""

    fields: dict[FieldName, str] = Field(default_factory=dict)
    handoff: bool | None = None
    reply_contains: list[Phrase] = Field(default_factory=list, max_length=20)
    reply_not_contains: list[Phrase] = Field(default_factory=list, max_length=20)
    min_score: int | None = Field(default=None, ge=0, le=100)
    max_score: int | None = Field(default=None, ge=0, le=100)


class CaseIn(Conversation):
    name: str = Field(min_length=1, max_length=100)
    expectations: Expectations = Field(default_factory=Expectations)


class CaseOut(BaseModel):
    id: str
    name: str
    lead_name: str
    messages: list[MessageIn]
    profile: list[FieldOut]
    expectations: Expectations
    created_by: str
    created_at: datetime | None
    updated_at: datetime | None


class RunIn(BaseModel):
    case_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50, description="Empty = all")


class CheckOut(BaseModel):
    expectation: str
    expected: str
    actual: str
    passed: bool


class CaseResultOut(BaseModel):
    case_id: str
    name: str
    passed: bool
    checks: list[CheckOut] = Field(description="Every expectation: expected vs actual")
    reply: str
    score: int
    handoff: bool
    outcome: str
    fields: list[FieldOut]


class RunOut(BaseModel):
    id: str
    settings_version: int | None
    created_by: str
    started_at: datetime | None
    finished_at: datetime | None
    total: int
    passed: int
    failed: int
    summary: str
    results: list[CaseResultOut]


def when(message: Any, name: str) -> datetime | None:
    return getattr(message, name).ToDatetime(tzinfo=None) if message.HasField(name) else None


def outcome_name(value: int) -> str:
    return pb.Outcome.Name(value).removeprefix("OUTCOME_").lower()


def _fields(message: Any) -> list[FieldOut]:
    return [
        FieldOut(name=f.name, value=f.value, evidence=f.evidence, confidence=round(f.confidence, 3))
        for f in message
    ]


def _arguments(raw: str) -> Any:
    try:
        return json.loads(raw) if raw else {}
    except ValueError:
        return raw


def simulate_out(r: pb.GenerateReplyResponse) -> SimulateOut:
    return SimulateOut(
        reply=r.text, fields=_fields(r.profile), score=r.score, score_reasons=list(r.score_reasons),
        tool_calls=[
            ToolCallOut(name=t.name, arguments=_arguments(t.arguments_json), result_summary=t.result_summary)
            for t in r.tool_calls
        ],
        handoff=r.handoff, handoff_reason=r.handoff_reason, outcome=outcome_name(r.outcome), model=r.model,
        latency_ms=r.latency_ms, prompt_tokens=r.prompt_tokens, completion_tokens=r.completion_tokens,
        opt_out=r.opt_out, opt_in=r.opt_in,
    )  # fmt: skip


def _history(messages: list[MessageIn]) -> list[pb.HistoryMessage]:
    return [pb.HistoryMessage(role=ROLE_TO_PB[m.role], text=m.text) for m in messages]


def _profile(profile: list[ProfileField]) -> list[pb.QualificationField]:
    return [pb.QualificationField(**f.model_dump()) for f in profile]


def case_input(body: CaseIn) -> pb.SimulatorCaseInput:
    return pb.SimulatorCaseInput(
        name=body.name, lead_name=body.lead_name, messages=_history(body.messages),
        profile=_profile(body.profile),
        expectations=pb.CaseExpectations(**body.expectations.model_dump()),
    )  # fmt: skip


def case_out(c: pb.SimulatorCase) -> CaseOut:
    e = c.expectations
    expectations = Expectations(
        fields=dict(e.fields), handoff=e.handoff if e.HasField("handoff") else None,
        reply_contains=list(e.reply_contains), reply_not_contains=list(e.reply_not_contains),
        min_score=e.min_score if e.HasField("min_score") else None,
        max_score=e.max_score if e.HasField("max_score") else None,
    )  # fmt: skip
    return CaseOut(
        id=c.id, name=c.name, lead_name=c.lead_name,
        messages=[MessageIn(role=PB_TO_ROLE.get(m.role, "lead"), text=m.text) for m in c.messages],
        profile=_fields(c.profile), expectations=expectations, created_by=c.created_by,
        created_at=when(c, "created_at"), updated_at=when(c, "updated_at"),
    )  # fmt: skip


def result_out(r: pb.CaseResult) -> CaseResultOut:
    return CaseResultOut(
        case_id=r.case_id, name=r.name, passed=r.passed,
        checks=[CheckOut(expectation=c.expectation, expected=c.expected, actual=c.actual, passed=c.passed)
                for c in r.checks],
        reply=r.reply_text, score=r.score, handoff=r.handoff, outcome=outcome_name(r.outcome),
        fields=_fields(r.profile),
    )  # fmt: skip


def run_out(r: pb.SimulatorRun) -> RunOut:
    total = r.passed + r.failed
    return RunOut(
        id=r.id, settings_version=r.settings_version if r.HasField("settings_version") else None,
        created_by=r.created_by, started_at=when(r, "started_at"), finished_at=when(r, "finished_at"),
        total=total, passed=r.passed, failed=r.failed, summary=f"{r.passed} of {total} cases passed",
        results=[result_out(c) for c in r.results],
    )  # fmt: skip


def _tenant(tenant_id: uuid.UUID | None) -> str:
    return str(tenant_id or "")


@router.post("/messages", summary="Answer a made-up conversation with the real AI pipeline")
async def simulate(
    body: Conversation, request: Request, tenant_id: uuid.UUID | None = TenantQuery,
    principal: Principal = Depends(admins),
) -> SimulateOut:  # fmt: skip
    message = pb.SimulateRequest(
        tenant_id=_tenant(tenant_id), lead_name=body.lead_name,
        history=_history(body.messages), profile=_profile(body.profile),
    )  # fmt: skip
    reply = await request.app.state.clients.ai.Simulate(
        message, metadata=principal.metadata(), timeout=SIMULATE_TIMEOUT
    )
    return simulate_out(reply.reply)


@router.get("/cases", summary="Saved test conversations, by name")
async def list_cases(
    request: Request, tenant_id: uuid.UUID | None = TenantQuery, principal: Principal = Depends(admins)
) -> list[CaseOut]:
    reply = await request.app.state.clients.ai.ListSimulatorCases(
        pb.ListSimulatorCasesRequest(tenant_id=_tenant(tenant_id)), metadata=principal.metadata()
    )
    return [case_out(c) for c in reply.cases]


@router.post("/cases", status_code=201, summary="Save a test conversation with expectations")
async def create_case(
    body: CaseIn, request: Request, tenant_id: uuid.UUID | None = TenantQuery,
    principal: Principal = Depends(admins),
) -> CaseOut:  # fmt: skip
    reply = await request.app.state.clients.ai.CreateSimulatorCase(
        pb.CreateSimulatorCaseRequest(tenant_id=_tenant(tenant_id), case=case_input(body)),
        metadata=principal.metadata(),
    )
    return case_out(reply.case)


@router.post("/cases/run", summary="Run saved cases (all, or the given ids) against the current settings")
async def run_cases(
    request: Request, body: RunIn | None = None, tenant_id: uuid.UUID | None = TenantQuery,
    principal: Principal = Depends(admins),
) -> RunOut:  # fmt: skip
    ids = [str(i) for i in body.case_ids] if body else []
    reply = await request.app.state.clients.ai.RunSimulatorCases(
        pb.RunSimulatorCasesRequest(tenant_id=_tenant(tenant_id), case_ids=ids),
        metadata=principal.metadata(),
        timeout=RUN_TIMEOUT,
    )
    return run_out(reply.run)


@router.get("/runs", summary="Stored runs, newest first (compare before and after a prompt change)")
async def list_runs(
    request: Request, tenant_id: uuid.UUID | None = TenantQuery,
    limit: int = Query(default=20, ge=1, le=100), principal: Principal = Depends(admins),
) -> list[RunOut]:  # fmt: skip
    reply = await request.app.state.clients.ai.ListSimulatorRuns(
        pb.ListSimulatorRunsRequest(tenant_id=_tenant(tenant_id), page_size=limit),
        metadata=principal.metadata(),
    )
    return [run_out(r) for r in reply.runs]


@router.get("/cases/{case_id}", summary="One saved case")
async def get_case(
    case_id: uuid.UUID, request: Request, tenant_id: uuid.UUID | None = TenantQuery,
    principal: Principal = Depends(admins),
) -> CaseOut:  # fmt: skip
    reply = await request.app.state.clients.ai.GetSimulatorCase(
        pb.GetSimulatorCaseRequest(tenant_id=_tenant(tenant_id), case_id=str(case_id)),
        metadata=principal.metadata(),
    )
    return case_out(reply.case)


@router.put("/cases/{case_id}", summary="Replace a saved case")
async def update_case(
    case_id: uuid.UUID, body: CaseIn, request: Request, tenant_id: uuid.UUID | None = TenantQuery,
    principal: Principal = Depends(admins),
) -> CaseOut:  # fmt: skip
    reply = await request.app.state.clients.ai.UpdateSimulatorCase(
        pb.UpdateSimulatorCaseRequest(
            tenant_id=_tenant(tenant_id), case_id=str(case_id), case=case_input(body)
        ),
        metadata=principal.metadata(),
    )
    return case_out(reply.case)


@router.delete("/cases/{case_id}", status_code=204, summary="Delete a saved case")
async def delete_case(
    case_id: uuid.UUID, request: Request, tenant_id: uuid.UUID | None = TenantQuery,
    principal: Principal = Depends(admins),
) -> Response:  # fmt: skip
    await request.app.state.clients.ai.DeleteSimulatorCase(
        pb.DeleteSimulatorCaseRequest(tenant_id=_tenant(tenant_id), case_id=str(case_id)),
        metadata=principal.metadata(),
    )
    return Response(status_code=204)
