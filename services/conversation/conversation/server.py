"""ConversationServicer: decode → one use case in one transaction → encode."""

from __future__ import annotations

import grpc
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from conversation import leads, service
from conversation.codec import (
    decode_filters,
    decode_inbound,
    decode_limits,
    decode_status,
    encode_lead,
    encode_message,
)
from conversation.config import Settings
from kit import db, rpc
from kit.errors import DomainError
from vellarys.conversation.v1 import conversation_pb2 as pb
from vellarys.conversation.v1 import conversation_pb2_grpc as pb_grpc


class Conflict(DomainError):
    code = grpc.StatusCode.ABORTED


class ConversationServicer(pb_grpc.ConversationServiceServicer):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def IngestInbound(
        self, request: pb.IngestInboundRequest, context: grpc.aio.ServicerContext
    ) -> pb.IngestInboundResponse:
        message, limits = decode_inbound(request.message), decode_limits(request)
        async with self.sessions.begin() as session:
            r = await service.ingest_inbound(session, request.tenant_id, message, limits)
        return pb.IngestInboundResponse(
            lead_id=r.lead_id,
            message_id=r.message_id,
            created=r.created,
            lead_created=r.lead_created,
            conversation_id=r.conversation_id,
            auto_reply=r.auto_reply,
            auto_reply_blocked=r.auto_reply_blocked,
            soft_limits_hit=list(r.soft_limits_hit),
        )

    async def RecordOutboundSent(
        self, request: pb.RecordOutboundSentRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecordOutboundSentResponse:
        # The echo webhook can commit the same provider id between our check and our update: the
        # unique index refuses ours, and the retry then sees (and folds in) the echo.
        for attempt in range(3):
            try:
                async with self.sessions.begin() as session:
                    status = await service.record_outbound_sent(
                        session,
                        request.tenant_id,
                        request.message_id,
                        request.provider,
                        request.provider_message_id,
                    )
                return pb.RecordOutboundSentResponse(status=status)
            except IntegrityError:
                if attempt == 2:
                    raise Conflict("provider_message_id is being recorded concurrently, retry") from None
        raise AssertionError("unreachable")

    async def RecordStatus(
        self, request: pb.RecordStatusRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecordStatusResponse:
        update = decode_status(request)
        async with self.sessions.begin() as session:
            r = await service.record_status(session, request.tenant_id, update)
        return pb.RecordStatusResponse(found=r.found, created=r.created, message_status=r.message_status)

    async def GetLead(
        self, request: pb.GetLeadRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetLeadResponse:
        async with self.sessions.begin() as session:
            lead = await leads.get_lead(session, request.tenant_id, request.lead_id)
            return pb.GetLeadResponse(lead=encode_lead(lead))

    async def ListLeads(
        self, request: pb.ListLeadsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListLeadsResponse:
        filters, mine = decode_filters(request)
        async with self.sessions.begin() as session:
            page = await leads.list_leads(
                session, request.tenant_id, filters, request.cursor, request.limit, mine=mine
            )
            return pb.ListLeadsResponse(
                leads=[encode_lead(lead) for lead in page.items], next_cursor=page.next_cursor
            )

    async def ListMessages(
        self, request: pb.ListMessagesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListMessagesResponse:
        async with self.sessions.begin() as session:
            page = await leads.list_messages(
                session, request.tenant_id, request.lead_id, request.cursor, request.limit
            )
            return pb.ListMessagesResponse(
                messages=[encode_message(m) for m in page.items], next_cursor=page.next_cursor
            )

    async def UpdateLead(
        self, request: pb.UpdateLeadRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateLeadResponse:
        status = request.status if request.HasField("status") else None
        notes = request.notes if request.HasField("notes") else None
        async with self.sessions.begin() as session:
            lead = await leads.update_lead(session, request.tenant_id, request.lead_id, status, notes)
            return pb.UpdateLeadResponse(lead=encode_lead(lead))


def build(settings: Settings, engine: AsyncEngine, port: int | None = None) -> rpc.Server:
    servicer = ConversationServicer(db.session_factory(engine))
    return rpc.build_server(
        lambda server: pb_grpc.add_ConversationServiceServicer_to_server(servicer, server),
        [pb.DESCRIPTOR.services_by_name["ConversationService"].full_name],
        host=settings.conversation_host,
        port=settings.conversation_port if port is None else port,
        readiness=lambda: db.ping(engine),
    )


async def serve(settings: Settings) -> None:
    engine = db.service_engine(settings, "conversation", settings.conversation_database_url)
    server = build(settings, engine)
    await rpc.serve_until_signalled(server, settings.grpc_grace_seconds, on_stop=engine.dispose)
