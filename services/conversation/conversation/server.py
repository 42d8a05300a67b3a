"""ConversationServicer: decode → one use case in one transaction → encode."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from conversation import service
from conversation.config import Settings
from conversation.domain import Inbound, clean
from conversation.models import Lead
from kit import db, rpc
from vellarys.conversation.v1 import conversation_pb2 as pb
from vellarys.conversation.v1 import conversation_pb2_grpc as pb_grpc

# MESSAGE_KIND_TEXT → "text"; unknown future kinds are kept as "unsupported", never dropped.
KIND_NAMES = {value: name.removeprefix("MESSAGE_KIND_").lower() for name, value in pb.MessageKind.items()}


def timestamp(value: datetime | None) -> Timestamp:
    ts = Timestamp()
    if value is not None:
        ts.FromDatetime(value)
    return ts


def decode_kind(message: pb.InboundMessage) -> str:
    if message.kind == pb.MESSAGE_KIND_UNSPECIFIED:
        return "text" if message.text else "unsupported"
    return KIND_NAMES.get(message.kind, "unsupported")


def decode_media(message: pb.InboundMessage) -> dict[str, Any] | None:
    if not message.HasField("media"):
        return None
    m = message.media
    fields = {
        "id": m.id,
        "url": m.url,
        "mime_type": m.mime_type,
        "caption": m.caption,
        "filename": m.filename,
    }
    return {key: clean(value) for key, value in fields.items() if value}


def decode_location(message: pb.InboundMessage) -> dict[str, Any] | None:
    if not message.HasField("location"):
        return None
    loc = message.location
    return {
        "latitude": loc.latitude,
        "longitude": loc.longitude,
        "name": clean(loc.name),
        "address": clean(loc.address),
    }


def decode_inbound(message: pb.InboundMessage) -> Inbound:
    return Inbound(
        provider=message.provider,
        external_id=message.external_id,
        sender=message.sender,
        sender_name=message.sender_name,
        channel_id=message.channel_id,
        kind=decode_kind(message),
        text=message.text,
        media=decode_media(message),
        location=decode_location(message),
        reply_id=message.reply_id,
        sent_at=message.sent_at.ToDatetime(tzinfo=UTC) if message.HasField("sent_at") else None,
        from_me=message.from_me,
        raw_json=message.raw_json,
    )


def encode_lead(lead: Lead) -> pb.Lead:
    return pb.Lead(
        id=str(lead.id),
        tenant_id=str(lead.tenant_id),
        phone=lead.phone,
        name=lead.name,
        status=lead.status,
        created_at=timestamp(lead.created_at),
        last_message_at=timestamp(lead.last_message_at),
        message_count=lead.message_count,
    )


class ConversationServicer(pb_grpc.ConversationServiceServicer):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def IngestInbound(
        self, request: pb.IngestInboundRequest, context: grpc.aio.ServicerContext
    ) -> pb.IngestInboundResponse:
        message = decode_inbound(request.message)
        async with self.sessions.begin() as session:
            result = await service.ingest_inbound(session, request.tenant_id, message)
        return pb.IngestInboundResponse(
            lead_id=result.lead_id,
            message_id=result.message_id,
            created=result.created,
            lead_created=result.lead_created,
        )

    async def GetLead(
        self, request: pb.GetLeadRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetLeadResponse:
        async with self.sessions.begin() as session:
            lead = await service.get_lead(session, request.tenant_id, request.lead_id)
            return pb.GetLeadResponse(lead=encode_lead(lead))


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
