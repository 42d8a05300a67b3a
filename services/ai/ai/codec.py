"""protobuf ↔ plain Python for the ai service (only the servicers use it; use cases never see _pb2)."""

from __future__ import annotations

from datetime import UTC

from ai import offline, service, simulator
from ai.extract import Fact
from ai.models import SimulatorCase, SimulatorRun
from ai.reply import Generated, Outcome, ReplyInput
from ai.repository import UsageDay
from kit.timestamps import timestamp_or_empty
from vellarys.ai.v1 import ai_pb2 as pb

ROLE_NAMES = {
    pb.ROLE_LEAD: offline.LEAD,
    pb.ROLE_ASSISTANT: offline.ASSISTANT,
    pb.ROLE_SELLER: offline.SELLER,
}
ROLES_TO_PB = {v: k for k, v in ROLE_NAMES.items()}
OUTCOMES = {
    Outcome.OK: pb.OUTCOME_OK,
    Outcome.FALLBACK: pb.OUTCOME_FALLBACK,
    Outcome.ERROR: pb.OUTCOME_ERROR,
    Outcome.BREAKER_OPEN: pb.OUTCOME_BREAKER_OPEN,
    Outcome.OFFLINE: pb.OUTCOME_OFFLINE,
}


def decode_field(field: pb.QualificationField) -> Fact:
    return Fact(field.name, field.value, field.evidence, field.confidence)


def encode_field(fact: Fact) -> pb.QualificationField:
    return pb.QualificationField(
        name=fact.name, value=fact.value, evidence=fact.evidence, confidence=fact.confidence
    )


def decode_turn(message: pb.HistoryMessage) -> offline.Turn:
    sent_at = message.sent_at.ToDatetime(tzinfo=UTC) if message.HasField("sent_at") else None
    return offline.Turn(
        ROLE_NAMES.get(message.role, ""), service.as_text(message.text, message.media_type), sent_at
    )


def encode_turn(turn: offline.Turn) -> pb.HistoryMessage:
    return pb.HistoryMessage(role=ROLES_TO_PB.get(turn.role, pb.ROLE_UNSPECIFIED), text=turn.text)


def decode_request(request: pb.GenerateReplyRequest) -> ReplyInput:
    expires = request.window_expires_at if request.HasField("window_expires_at") else None
    return ReplyInput(
        tenant_id=request.tenant_id,
        lead_id=request.lead_id,
        lead_name=request.lead_name,
        history=[decode_turn(m) for m in request.history],
        profile=[decode_field(f) for f in request.profile],
        window_expires_at=expires.ToDatetime(tzinfo=UTC) if expires else None,
        job_id=request.job_id,
        attempt=request.attempt,
    )


def encode_reply(reply: Generated) -> pb.GenerateReplyResponse:
    return pb.GenerateReplyResponse(
        text=reply.text,
        profile=[encode_field(f) for f in reply.profile],
        score=reply.score,
        score_reasons=reply.score_reasons,
        handoff=reply.handoff,
        handoff_reason=reply.handoff_reason,
        outcome=OUTCOMES[reply.outcome],
        model=reply.model,
        tool_calls=[
            pb.ToolCall(name=t.name, arguments_json=t.arguments_json, result_summary=t.result_summary)
            for t in reply.tool_calls
        ],
        prompt_tokens=reply.prompt_tokens,
        completion_tokens=reply.completion_tokens,
        latency_ms=reply.latency_ms,
        retry_later=reply.retry_later,
        opt_out=reply.opt_out,
        opt_in=reply.opt_in,
    )


def encode_day(usage: UsageDay) -> pb.UsageDay:
    return pb.UsageDay(
        day=usage.day.isoformat(),
        calls=usage.calls,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cost_usd=usage.cost_usd,
        unpriced_calls=usage.unpriced_calls,
        outcomes=usage.outcomes,
        simulated_calls=usage.simulated_calls,
        simulated_cost_usd=usage.simulated_cost_usd,
    )


def decode_expectations(message: pb.CaseExpectations) -> simulator.Expectations:
    return simulator.Expectations(
        fields=dict(message.fields),
        handoff=message.handoff if message.HasField("handoff") else None,
        reply_contains=list(message.reply_contains),
        reply_not_contains=list(message.reply_not_contains),
        min_score=message.min_score if message.HasField("min_score") else None,
        max_score=message.max_score if message.HasField("max_score") else None,
    )


def encode_expectations(expected: simulator.Expectations) -> pb.CaseExpectations:
    return pb.CaseExpectations(
        fields=expected.fields,
        handoff=expected.handoff,
        reply_contains=expected.reply_contains,
        reply_not_contains=expected.reply_not_contains,
        min_score=expected.min_score,
        max_score=expected.max_score,
    )


def decode_case(message: pb.SimulatorCaseInput) -> simulator.CaseSpec:
    return simulator.CaseSpec(
        name=message.name,
        lead_name=message.lead_name,
        messages=[decode_turn(m) for m in message.messages],
        profile=[decode_field(f) for f in message.profile],
        expectations=decode_expectations(message.expectations),
    )


def encode_case(case: SimulatorCase) -> pb.SimulatorCase:
    return pb.SimulatorCase(
        id=str(case.id),
        tenant_id=str(case.tenant_id),
        name=case.name,
        lead_name=case.lead_name,
        messages=[encode_turn(t) for t in simulator.turns_from_json(case.messages)],
        profile=[encode_field(f) for f in simulator.facts_from_json(case.profile)],
        expectations=encode_expectations(simulator.expectations_from_json(case.expectations)),
        created_by=str(case.created_by or ""),
        created_at=timestamp_or_empty(case.created_at),
        updated_at=timestamp_or_empty(case.updated_at),
    )


def encode_result(result: dict[str, object]) -> pb.CaseResult:
    data: dict[str, object] = dict(result)
    checks = data.pop("checks", [])
    profile = data.pop("profile", [])
    outcome = Outcome(str(data.pop("outcome", Outcome.ERROR.value)))
    return pb.CaseResult(
        **data,  # type: ignore[arg-type]
        checks=[pb.ExpectationCheck(**c) for c in checks],  # type: ignore[attr-defined]
        profile=[encode_field(f) for f in simulator.facts_from_json(profile)],  # type: ignore[arg-type]
        outcome=OUTCOMES[outcome],
    )


def encode_run(run: SimulatorRun) -> pb.SimulatorRun:
    return pb.SimulatorRun(
        id=str(run.id),
        tenant_id=str(run.tenant_id),
        settings_version=run.settings_version,
        created_by=str(run.created_by or ""),
        started_at=timestamp_or_empty(run.started_at),
        finished_at=timestamp_or_empty(run.finished_at),
        passed=run.passed,
        failed=run.failed,
        results=[encode_result(r) for r in run.results],
    )
