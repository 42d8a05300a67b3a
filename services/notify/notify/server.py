"""NotifyServicer: decode → one use case in one transaction → encode; plus the process's wiring."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC
from typing import Any, TypeAlias

import aiohttp
import grpc
import httpx
from opentelemetry import propagate
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from kit import db, dbstats, rpc
from kit.timestamps import timestamp_or_none
from notify import authz, push, service
from notify.clients import Credentials
from notify.config import Settings
from notify.models import Delivery
from notify.pacing import LocalPacer, Pacer, RedisPacer
from notify.reports import SentReports
from notify.sender import Sender, http_session, limits
from vellarys.notify.v1 import notify_pb2 as pb
from vellarys.notify.v1 import notify_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)
Ctx: TypeAlias = grpc.aio.ServicerContext
STATUS_TO_PB = {
    "queued": pb.DELIVERY_STATUS_QUEUED,
    "sent": pb.DELIVERY_STATUS_SENT,
    "delivered": pb.DELIVERY_STATUS_DELIVERED,
    "read": pb.DELIVERY_STATUS_READ,
    "failed": pb.DELIVERY_STATUS_FAILED,
    "dead": pb.DELIVERY_STATUS_DEAD,
}
PB_TO_STATUS = {v: k for k, v in STATUS_TO_PB.items()}


def encode_delivery(d: Delivery) -> pb.Delivery:
    return pb.Delivery(
        id=str(d.id), tenant_id=str(d.tenant_id), message_id=str(d.message_id),
        channel_id=str(d.channel_id or ""), recipient=d.recipient,
        status=STATUS_TO_PB.get(d.status, pb.DELIVERY_STATUS_UNSPECIFIED), attempts=d.attempts,
        provider=d.provider or "", provider_message_id=d.provider_message_id or "",
        last_error=d.last_error or "", error_code=d.error_code or "",
        next_attempt_at=timestamp_or_none(d.next_attempt_at), created_at=timestamp_or_none(d.created_at),
        updated_at=timestamp_or_none(d.updated_at), template_name=d.sent_template or "",
    )  # fmt: skip


def _traceparent() -> str:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent", "")


class NotifyServicer(pb_grpc.NotifyServiceServicer):
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        sender: Sender | None = None,
        pusher: push.Pusher | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.sender = sender
        self.pusher = pusher
        # SendMessage's writes are one statement each, straight on the driver: they commit alone.
        self.engine: AsyncEngine = sessions.kw["bind"]

    async def SendMessage(self, request: pb.SendMessageRequest, context: Ctx) -> pb.SendMessageResponse:
        authz.require_internal()
        out = service.Outbound(
            tenant_id=request.tenant_id, message_id=request.message_id, channel_id=request.channel_id,
            recipient=request.recipient, text=request.text,
            window_open=request.window_open if request.HasField("window_open") else True,
            template_name=request.template_name, template_language=request.template_language,
            template_params=list(request.template_params), traceparent=_traceparent(),
        )  # fmt: skip
        # Sent at once by this process's sender when it has a free slot: the delivery is born leased
        # to it, so no claim round trip (and a crash before the send only delays it by the lease).
        token = self.sender.lease_for_now() if self.sender is not None and not request.wait else None
        try:
            async with self.engine.connect() as connection:
                queued = await service.send_message(
                    connection, out, token, self.settings.sender_lease_seconds
                )
        except BaseException:
            if token is not None and self.sender is not None:
                self.sender.send_now(None, token)
            raise
        delivery = queued.delivery
        if token is not None and self.sender is not None:
            self.sender.send_now(delivery if queued.created else None, token)
        elif self.sender is not None and delivery.status == "queued":
            if request.wait:
                delivery = await self._wait_first_attempt(request.tenant_id, delivery)
            else:
                self.sender.wake()
        return pb.SendMessageResponse(
            delivery_id=str(delivery.id),
            status=STATUS_TO_PB.get(delivery.status, pb.DELIVERY_STATUS_UNSPECIFIED),
            created=queued.created,
            delivery=encode_delivery(delivery),
        )

    async def _wait_first_attempt(self, tenant_id: str, delivery: Delivery) -> Delivery:
        assert self.sender is not None
        # Shielded inside attempt_now: a timeout here stops the waiting, never the send.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.sender.attempt_now(delivery.id), self.settings.send_wait_seconds)
        async with self.sessions.begin() as session:
            return await service.get_delivery(session, tenant_id, str(delivery.id))

    async def GetDelivery(self, request: pb.GetDeliveryRequest, context: Ctx) -> pb.GetDeliveryResponse:
        tenant_id = authz.admin_tenant(request.tenant_id)
        async with self.sessions.begin() as session:
            found = await service.get_delivery(session, tenant_id, request.delivery_id)
            return pb.GetDeliveryResponse(delivery=encode_delivery(found))

    async def ListDeliveries(
        self, request: pb.ListDeliveriesRequest, context: Ctx
    ) -> pb.ListDeliveriesResponse:
        tenant_id = authz.admin_tenant(request.tenant_id)
        status = PB_TO_STATUS.get(request.status)
        async with self.sessions.begin() as session:
            rows, cursor = await service.list_deliveries(
                session, tenant_id, statuses=(status,) if status else (), cursor=request.cursor,
                page_size=request.page_size, message_id=request.message_id,
            )  # fmt: skip
            return pb.ListDeliveriesResponse(
                deliveries=[encode_delivery(d) for d in rows], next_cursor=cursor
            )

    async def ListDeadLetters(
        self, request: pb.ListDeadLettersRequest, context: Ctx
    ) -> pb.ListDeadLettersResponse:
        tenant_id = authz.admin_tenant(request.tenant_id)
        async with self.sessions.begin() as session:
            rows, cursor = await service.list_deliveries(
                session, tenant_id, statuses=("dead",), cursor=request.cursor, page_size=request.page_size
            )
            return pb.ListDeadLettersResponse(
                deliveries=[encode_delivery(d) for d in rows], next_cursor=cursor
            )

    async def ReplayDelivery(
        self, request: pb.ReplayDeliveryRequest, context: Ctx
    ) -> pb.ReplayDeliveryResponse:
        tenant_id = authz.admin_tenant(request.tenant_id)
        async with self.sessions.begin() as session:
            delivery = await service.replay_delivery(session, tenant_id, request.delivery_id)
        if self.sender is not None:
            self.sender.wake()
        return pb.ReplayDeliveryResponse(delivery=encode_delivery(delivery))

    async def RecordProviderStatus(
        self, request: pb.RecordProviderStatusRequest, context: Ctx
    ) -> pb.RecordProviderStatusResponse:
        authz.require_internal()
        update = service.StatusUpdate(
            tenant_id=request.tenant_id, provider=request.provider,
            provider_message_id=request.provider_message_id, status=PB_TO_STATUS.get(request.status, ""),
            error_code=request.error_code, error_title=request.error_title,
            at=request.at.ToDatetime(tzinfo=UTC) if request.HasField("at") else None,
        )  # fmt: skip
        async with self.sessions.begin() as session:
            delivery, recorded = await service.record_provider_status(session, update)
            if delivery is None:
                return pb.RecordProviderStatusResponse(found=False)
            return pb.RecordProviderStatusResponse(
                found=True, recorded=recorded, delivery=encode_delivery(delivery)
            )

    async def RegisterPushSubscription(
        self, request: pb.RegisterPushSubscriptionRequest, context: Ctx
    ) -> pb.RegisterPushSubscriptionResponse:
        tenant_id, user_id = authz.own_user(request.tenant_id, request.user_id)
        async with self.sessions.begin() as session:
            sub = await service.register_push(
                session, tenant_id, user_id, request.endpoint, request.p256dh, request.auth
            )
            encoded = pb.PushSubscription(
                id=str(sub.id), tenant_id=str(sub.tenant_id), user_id=str(sub.user_id), endpoint=sub.endpoint,
                created_at=timestamp_or_none(sub.created_at),
                last_success_at=timestamp_or_none(sub.last_success_at),
            )  # fmt: skip
            return pb.RegisterPushSubscriptionResponse(subscription=encoded)

    async def DeletePushSubscription(
        self, request: pb.DeletePushSubscriptionRequest, context: Ctx
    ) -> pb.DeletePushSubscriptionResponse:
        tenant_id, user_id = authz.own_user(request.tenant_id, request.user_id)
        async with self.sessions.begin() as session:
            deleted = await service.delete_push(session, tenant_id, user_id, request.endpoint)
            return pb.DeletePushSubscriptionResponse(deleted=deleted)

    async def GetVapidPublicKey(
        self, request: pb.GetVapidPublicKeyRequest, context: Ctx
    ) -> pb.GetVapidPublicKeyResponse:
        return pb.GetVapidPublicKeyResponse(public_key=self.settings.vapid_public_key)

    async def NotifyUser(self, request: pb.NotifyUserRequest, context: Ctx) -> pb.NotifyUserResponse:
        authz.require_internal()
        notice = push.UserNotice(
            tenant_id=request.tenant_id, user_id=request.user_id, title=request.title, body=request.body,
            url=request.url, data=dict(request.data), notification_id=request.notification_id,
            whatsapp_phone=request.whatsapp_phone, channel_id=request.channel_id,
        )  # fmt: skip
        result = await push.notify_user(self.sessions, self.pusher, notice)
        if result.delivery_id and self.sender is not None:
            self.sender.wake()
        return pb.NotifyUserResponse(
            pushed=result.pushed, pruned=result.pruned, failed=result.failed,
            delivery_id=result.delivery_id, duplicate=result.duplicate,
        )  # fmt: skip


@dataclass
class Components:
    """What the serving process owns besides the gRPC server: the worker and its clients (providers'
    send APIs on aiohttp, the hot path; web push on httpx)."""

    sends: aiohttp.ClientSession
    pushes: httpx.AsyncClient
    channels: list[grpc.aio.Channel]
    sender: Sender
    pusher: push.Pusher
    redis: Any = None

    async def close(self) -> None:
        await self.sender.stop()
        await self.sends.close()
        await self.pushes.aclose()
        for channel in self.channels:
            await channel.close()
        if self.redis is not None:
            await self.redis.aclose()


def _pacer(settings: Settings) -> tuple[Pacer, Any]:
    if not settings.redis_url:
        return LocalPacer(limits(settings)), None
    from kit.redisclient import connect

    client = connect(settings.redis_url)
    return RedisPacer(client, limits(settings), f"{settings.redis_prefix}notify:pace"), client


def components(settings: Settings, engine: AsyncEngine) -> Components:
    """Called in the running loop: the aiohttp session binds to it."""
    deadline = settings.grpc_deadline_seconds
    tenant = rpc.make_channel(settings.tenant_addr, deadline=deadline)
    conversation = rpc.make_channel(settings.conversation_addr, deadline=deadline)
    sends, pushes = http_session(settings), push.http_client(settings)
    pacer, redis_client = _pacer(settings)
    log.info("pacing mode: %s", pacer.mode)
    sender = Sender(
        settings, db.session_factory(engine),
        Credentials(tenant, settings.credentials_cache_seconds, deadline), sends, pacer,
        SentReports(conversation, deadline),
    )  # fmt: skip
    pusher = push.Pusher(settings, pushes)
    return Components(sends, pushes, [tenant, conversation], sender, pusher, redis_client)


def build(
    settings: Settings,
    engine: AsyncEngine,
    port: int | None = None,
    *,
    sender: Sender | None = None,
    pusher: push.Pusher | None = None,
) -> rpc.Server:
    servicer = NotifyServicer(settings, db.session_factory(engine), sender, pusher)
    return rpc.build_server(
        lambda server: pb_grpc.add_NotifyServiceServicer_to_server(servicer, server),
        [pb.DESCRIPTOR.services_by_name["NotifyService"].full_name],
        host=settings.notify_host,
        port=settings.notify_port if port is None else port,
        readiness=lambda: db.ping(engine),
    )


async def serve(settings: Settings) -> None:
    engine = db.service_engine(settings, "notify", settings.notify_database_url)
    parts = components(settings, engine)
    server = build(settings, engine, sender=parts.sender, pusher=parts.pusher)
    if settings.sender_enabled:
        parts.sender.start()
    stats = dbstats.watch(engine, "notify", settings)

    async def stop() -> None:
        await stats.stop()
        await parts.close()
        await engine.dispose()

    await rpc.serve_until_signalled(server, settings.grpc_grace_seconds, on_stop=stop)
