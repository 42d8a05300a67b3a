"""NotifyServicer: decode → one use case in one transaction → encode."""

from __future__ import annotations

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from kit import db, rpc
from notify import service
from notify.config import Settings
from vellarys.notify.v1 import notify_pb2 as pb
from vellarys.notify.v1 import notify_pb2_grpc as pb_grpc

STATUS_TO_PB = {
    "queued": pb.DELIVERY_STATUS_QUEUED,
    "sent": pb.DELIVERY_STATUS_SENT,
    "delivered": pb.DELIVERY_STATUS_DELIVERED,
    "read": pb.DELIVERY_STATUS_READ,
    "failed": pb.DELIVERY_STATUS_FAILED,
    "dead": pb.DELIVERY_STATUS_DEAD,
}


class NotifyServicer(pb_grpc.NotifyServiceServicer):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def SendMessage(
        self, request: pb.SendMessageRequest, context: grpc.aio.ServicerContext
    ) -> pb.SendMessageResponse:
        async with self.sessions.begin() as session:
            queued = await service.send_message(
                session,
                tenant_id=request.tenant_id,
                message_id=request.message_id,
                channel_id=request.channel_id,
                recipient=request.recipient,
                text=request.text,
            )
        return pb.SendMessageResponse(
            delivery_id=queued.delivery_id,
            status=STATUS_TO_PB.get(queued.status, pb.DELIVERY_STATUS_UNSPECIFIED),
            created=queued.created,
        )


def build(settings: Settings, engine: AsyncEngine, port: int | None = None) -> rpc.Server:
    servicer = NotifyServicer(db.session_factory(engine))
    return rpc.build_server(
        lambda server: pb_grpc.add_NotifyServiceServicer_to_server(servicer, server),
        [pb.DESCRIPTOR.services_by_name["NotifyService"].full_name],
        host=settings.notify_host,
        port=settings.notify_port if port is None else port,
        readiness=lambda: db.ping(engine),
    )


async def serve(settings: Settings) -> None:
    engine = db.service_engine(settings, "notify", settings.notify_database_url)
    server = build(settings, engine)
    await rpc.serve_until_signalled(server, settings.grpc_grace_seconds, on_stop=engine.dispose)
