"""AiServicer: decode → use case → encode.

GenerateReply does not hold a transaction while the model thinks (up to 15 s): the reply is
generated first, then its call-log row is written in one short transaction.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ai import metrics, model, offline, service
from ai.breaker import CircuitBreaker
from ai.config import Settings
from ai.extract import Fact
from ai.reply import Generated, Outcome, ReplyInput
from ai.repository import UsageDay
from ai.responder import ModelResponder
from ai.tenant_port import GrpcTenantPort, TenantPort
from kit import db, rpc
from vellarys.ai.v1 import ai_pb2 as pb
from vellarys.ai.v1 import ai_pb2_grpc as pb_grpc
from vellarys.tenant.v1 import tenant_pb2_grpc as tpb_grpc

log = logging.getLogger(__name__)
ROLE_NAMES = {
    pb.ROLE_LEAD: offline.LEAD,
    pb.ROLE_ASSISTANT: offline.ASSISTANT,
    pb.ROLE_SELLER: offline.SELLER,
}
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
    )


class AiServicer(pb_grpc.AiServiceServicer):
    def __init__(self, sessions: async_sessionmaker[AsyncSession], responder: ModelResponder | None) -> None:
        self.sessions = sessions
        self.responder = responder

    async def GenerateReply(
        self, request: pb.GenerateReplyRequest, context: grpc.aio.ServicerContext
    ) -> pb.GenerateReplyResponse:
        decoded = decode_request(request)
        reply = await service.generate_reply(decoded, self.responder)
        metrics.REPLIES.labels(reply.outcome.value).inc()
        async with self.sessions.begin() as session:
            await service.record_call(session, decoded, reply)
        return encode_reply(reply)

    async def GetUsage(
        self, request: pb.GetUsageRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetUsageResponse:
        async with self.sessions.begin() as session:
            days = await service.get_usage(
                session, request.tenant_id, request.from_day, request.to_day, request.time_zone
            )
        return pb.GetUsageResponse(days=[encode_day(d) for d in days])


def make_responder(
    settings: Settings, tenants: TenantPort | None, breaker: CircuitBreaker | None
) -> ModelResponder | None:
    if not settings.model_enabled:
        log.info("no OPENAI_API_KEY: the built-in Portuguese responder answers")
        return None
    if tenants is None:
        channel = rpc.make_channel(settings.tenant_addr, deadline=settings.grpc_deadline_seconds)
        tenants = GrpcTenantPort(tpb_grpc.TenantServiceStub(channel))
    client = model.make_client(
        settings.openai_api_key,
        settings.openai_base_url,
        settings.ai_timeout_seconds,
        settings.ai_connect_timeout_seconds,
    )
    chat = model.ChatClient(
        client, settings.ai_connect_timeout_seconds, settings.ai_retry_min_remaining_seconds
    )
    breaker = breaker or CircuitBreaker(settings.ai_breaker_failures, settings.ai_breaker_cooldown_seconds)
    metrics.watch_breaker(breaker)
    canary = settings.ai_canary or f"VLR-{secrets.token_hex(8)}"
    return ModelResponder(chat, tenants, breaker, settings, canary)


def build(
    settings: Settings,
    engine: AsyncEngine,
    port: int | None = None,
    *,
    tenants: TenantPort | None = None,
    breaker: CircuitBreaker | None = None,
) -> rpc.Server:
    servicer = AiServicer(db.session_factory(engine), make_responder(settings, tenants, breaker))
    return rpc.build_server(
        lambda server: pb_grpc.add_AiServiceServicer_to_server(servicer, server),
        [pb.DESCRIPTOR.services_by_name["AiService"].full_name],
        host=settings.ai_host,
        port=settings.ai_port if port is None else port,
        readiness=lambda: db.ping(engine),
    )


async def serve(settings: Settings) -> None:
    engine = db.service_engine(settings, "ai", settings.ai_database_url)
    server = build(settings, engine)
    await rpc.serve_until_signalled(server, settings.grpc_grace_seconds, on_stop=engine.dispose)
