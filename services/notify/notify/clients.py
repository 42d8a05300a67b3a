"""The notify service's calls to other services: channel credentials (tenant) and the provider-id
callback (conversation). Both go out with the internal "service" role."""

from __future__ import annotations

import logging
import time

import grpc

from kit.context import CallContext
from notify.providers import Channel
from vellarys.conversation.v1 import conversation_pb2 as conversation_pb
from vellarys.conversation.v1 import conversation_pb2_grpc as conversation_grpc
from vellarys.tenant.v1 import tenant_pb2 as tenant_pb
from vellarys.tenant.v1 import tenant_pb2_grpc as tenant_grpc

log = logging.getLogger(__name__)
PROVIDER_NAMES = {
    tenant_pb.PROVIDER_ZAPI: "zapi",
    tenant_pb.PROVIDER_DIALOG360: "dialog360",
    tenant_pb.PROVIDER_GUPSHUP: "gupshup",
    tenant_pb.PROVIDER_META: "meta",
}


class ChannelNotFound(Exception):
    """The channel does not exist (or belongs to another tenant): no retry will help."""


def service_metadata(tenant_id: str) -> tuple[tuple[str, str], ...]:
    return CallContext(role="service", tenant_id=tenant_id).metadata()


class Credentials:
    """Decrypted channel credentials from the tenant service, cached briefly in this process so a burst
    of sends costs one call, while a rotated secret is picked up within `ttl` seconds."""

    def __init__(self, channel: grpc.aio.Channel, ttl: float, deadline: float = 5.0) -> None:
        self.stub = tenant_grpc.TenantServiceStub(channel)
        self.ttl = ttl
        self.deadline = deadline
        self._cache: dict[str, tuple[float, Channel]] = {}

    def forget(self, channel_id: str) -> None:
        self._cache.pop(channel_id, None)

    async def get(self, tenant_id: str, channel_id: str) -> Channel:
        hit = self._cache.get(channel_id)
        if hit is not None and hit[0] > time.monotonic():
            found = hit[1]
        else:
            found = await self._fetch(tenant_id, channel_id)
            self._cache[channel_id] = (time.monotonic() + self.ttl, found)
        # The tenant RPC looks a channel up by id alone: the tenant check is ours.
        if found.tenant_id != tenant_id:
            raise ChannelNotFound(f"channel {channel_id} not found")
        return found

    async def _fetch(self, tenant_id: str, channel_id: str) -> Channel:
        request = tenant_pb.GetChannelCredentialsRequest(channel_id=channel_id)
        try:
            reply = await self.stub.GetChannelCredentials(
                request, metadata=service_metadata(tenant_id), timeout=self.deadline
            )
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise ChannelNotFound(f"channel {channel_id} not found") from None
            raise
        c = reply.channel
        return Channel(
            id=c.id, tenant_id=c.tenant_id, provider=PROVIDER_NAMES.get(c.provider, ""),
            external_id=c.external_id, phone_number=c.phone_number, active=c.active,
            secrets=dict(reply.secrets),
        )  # fmt: skip


class Conversation:
    """Tells the conversation service the provider's id of a message we sent, so the provider's echo of
    it (Z-API fromMe, Meta statuses) is recognised instead of stored as a new message."""

    def __init__(self, channel: grpc.aio.Channel, deadline: float = 5.0) -> None:
        self.stub = conversation_grpc.ConversationServiceStub(channel)
        self.deadline = deadline

    async def record_outbound_sent(
        self, tenant_id: str, message_id: str, provider: str, provider_message_id: str
    ) -> bool:
        request = conversation_pb.RecordOutboundSentRequest(
            tenant_id=tenant_id,
            message_id=message_id,
            provider=provider,
            provider_message_id=provider_message_id,
        )
        try:
            await self.stub.RecordOutboundSent(
                request, metadata=service_metadata(tenant_id), timeout=self.deadline
            )
        except grpc.aio.AioRpcError as error:
            log.warning("RecordOutboundSent failed for message %s: %s", message_id, error.code().name)
            return False
        return True
