"""AiServicer: decode → one use case in one transaction → encode."""

from __future__ import annotations

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ai import offline, service
from ai.config import Settings
from ai.extract import Fact
from kit import db, rpc
from vellarys.ai.v1 import ai_pb2 as pb
from vellarys.ai.v1 import ai_pb2_grpc as pb_grpc

ROLE_NAMES = {
    pb.ROLE_LEAD: offline.LEAD,
    pb.ROLE_ASSISTANT: offline.ASSISTANT,
    pb.ROLE_SELLER: offline.SELLER,
}


def decode_field(field: pb.QualificationField) -> Fact:
    return Fact(field.name, field.value, field.evidence, field.confidence)


def encode_field(fact: Fact) -> pb.QualificationField:
    return pb.QualificationField(
        name=fact.name, value=fact.value, evidence=fact.evidence, confidence=fact.confidence
    )


def encode_reply(reply: offline.Reply) -> pb.GenerateReplyResponse:
    return pb.GenerateReplyResponse(
        text=reply.text,
        profile=[encode_field(f) for f in reply.profile],
        score=reply.score,
        score_reasons=reply.score_reasons,
        handoff=reply.handoff,
        handoff_reason=reply.handoff_reason,
        outcome=pb.OUTCOME_OK,
        model=reply.model,
    )


class AiServicer(pb_grpc.AiServiceServicer):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def GenerateReply(
        self, request: pb.GenerateReplyRequest, context: grpc.aio.ServicerContext
    ) -> pb.GenerateReplyResponse:
        history = [offline.Turn(ROLE_NAMES.get(m.role, ""), m.text) for m in request.history]
        async with self.sessions.begin() as session:
            reply = await service.generate_reply(
                session,
                tenant_id=request.tenant_id,
                lead_id=request.lead_id,
                lead_name=request.lead_name,
                history=history,
                profile=[decode_field(f) for f in request.profile],
            )
        return encode_reply(reply)


def build(settings: Settings, engine: AsyncEngine, port: int | None = None) -> rpc.Server:
    servicer = AiServicer(db.session_factory(engine))
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
