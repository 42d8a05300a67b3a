"""The notify service's calls to the tenant service: channel credentials, with the internal "service"
role. (Its reports of sent messages to the conversation service are in notify.reports.)"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import grpc

from kit.cache import Missing, TtlCache
from kit.context import CallContext
from notify.providers import Channel
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
    """Decrypted channel credentials from the tenant service, cached in this process (kit.cache) so a
    burst of sends to a channel costs at most one GetChannelCredentials call, and no send waits on one
    while the channel is in use.

    A fetched channel is fresh for 75-100 % of `ttl` (CREDENTIALS_CACHE_SECONDS), a random share so
    channels fetched together are not fetched again together. Then it is stale: the next send still
    uses it at once and starts one background fetch, and the sends after it use it until that fetch
    lands. A failed background fetch is logged and retried at most once a second meanwhile. A send that
    finds nothing cached waits on one call, shared with every send for that channel meanwhile.

    Freshness: a channel is never used more than STALE_FACTOR × ttl (45 s by default) after it was
    fetched; past that a send waits on the call, and if the tenant service fails it gets the error.
    So a rotated secret or a disabled channel takes effect within CREDENTIALS_CACHE_SECONDS plus one
    call on a channel that is sending, and within 1.5 × CREDENTIALS_CACHE_SECONDS at worst (a channel
    idle since its last fetch, or the tenant service unreachable).

    A channel that is not found (NOT_FOUND, INVALID_ARGUMENT) is remembered as such for at most
    NEGATIVE_TTL (2 s, or `ttl` if shorter), never served stale, so a burst of sends to a deleted
    channel costs one call. The tenant service looks a channel up by id alone, so "not found" is the
    same answer for every tenant; whose channel it is, is checked here on every get, cached or not.
    At most MAX_CHANNELS channels are kept. A ttl of 0 caches nothing."""

    STALE_FACTOR = 1.5
    NEGATIVE_TTL = 2.0
    MAX_CHANNELS = 10_000

    def __init__(
        self,
        channel: grpc.aio.Channel,
        ttl: float,
        deadline: float = 5.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stub = tenant_grpc.TenantServiceStub(channel)
        self.ttl = ttl
        self.deadline = deadline
        self.cache: TtlCache[str, Channel] = TtlCache(
            ttl,
            negative_ttl=min(ttl, self.NEGATIVE_TTL),
            max_entries=self.MAX_CHANNELS,
            max_stale=self.STALE_FACTOR * ttl,
            clock=clock,
            name="notify credentials cache",
        )

    def forget(self, channel_id: str) -> None:
        """Drops the cached channel: the next get fetches it (a fetch already running still lands)."""
        self.cache.invalidate(channel_id)

    async def get(self, tenant_id: str, channel_id: str) -> Channel:
        found = await self.cache.get(channel_id, lambda: self._fetch(tenant_id, channel_id))
        # The tenant RPC looks a channel up by id alone: the tenant check is ours.
        if found is None or found.tenant_id != tenant_id:
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
                raise Missing from None  # get() raises ChannelNotFound
            raise
        c = reply.channel
        return Channel(
            id=c.id, tenant_id=c.tenant_id, provider=PROVIDER_NAMES.get(c.provider, ""),
            external_id=c.external_id, phone_number=c.phone_number, active=c.active,
            secrets=dict(reply.secrets),
        )  # fmt: skip
