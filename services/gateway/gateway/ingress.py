"""The webhook pipeline: authenticate → resolve the tenant (cached) → limits → store, then 200.

Every step before the store is in memory except the first resolution of a channel; the store goes
through the batcher (gateway/batcher.py): a payload's messages concurrently, sharing IngestBatch
calls with those of other webhooks arriving at the same time. A payload is answered 200 only
after every message in it is committed: on any storage failure the provider gets a 503 and retries,
and the retry is harmless because storage is idempotent on the provider message id.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Any

import grpc
from prometheus_client import Counter

from gateway.batcher import IngestBatcher
from gateway.clients import Clients
from gateway.limits import Counter as LimitCounter
from gateway.limits import Level, TenantLimits, message_level
from gateway.providers import canonical, signatures, wire
from kit import epoch
from kit.cache import Missing, TtlCache
from kit.context import CallContext
from kit.metrics import child
from vellarys.conversation.v1 import conversation_pb2 as conv_pb
from vellarys.tenant.v1 import tenant_pb2 as tenant_pb

log = logging.getLogger(__name__)

PROVIDER_PB = {
    "zapi": tenant_pb.PROVIDER_ZAPI,
    "dialog360": tenant_pb.PROVIDER_DIALOG360,
    "gupshup": tenant_pb.PROVIDER_GUPSHUP,
    "meta": tenant_pb.PROVIDER_META,
}
# Providers that sign nothing: only the per-channel token in the URL proves a call is theirs.
TOKEN_ONLY = {"zapi", "gupshup"}
DIALOG360_HEADERS = ("x-webhook-secret", "authorization")
LEVEL_PB = {
    Level.OK: conv_pb.LIMIT_LEVEL_OK,
    Level.SOFT: conv_pb.LIMIT_LEVEL_SOFT,
    Level.HARD: conv_pb.LIMIT_LEVEL_HARD,
}
STATUS_PB = {
    canonical.Status.QUEUED: conv_pb.DELIVERY_STATUS_QUEUED,
    canonical.Status.SENT: conv_pb.DELIVERY_STATUS_SENT,
    canonical.Status.DELIVERED: conv_pb.DELIVERY_STATUS_DELIVERED,
    canonical.Status.READ: conv_pb.DELIVERY_STATUS_READ,
    canonical.Status.PLAYED: conv_pb.DELIVERY_STATUS_PLAYED,
    canonical.Status.FAILED: conv_pb.DELIVERY_STATUS_FAILED,
}
SERVICE_ROLE = "service"

WEBHOOKS = Counter(
    "vellarys_webhooks_total", "webhook requests by provider and outcome", ["provider", "outcome"]
)
MESSAGES = Counter(
    "vellarys_tenant_messages_total",
    "inbound messages stored per tenant",
    ["tenant", "provider", "duplicate"],
)
LIMIT_HITS = Counter(
    "vellarys_tenant_limit_hits_total", "soft/hard limit hits per tenant", ["tenant", "limit"]
)


class Rejected(Exception):
    """The request is not (provably) from the provider: answered 401/403, nothing written."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ResolvedChannel:
    channel_id: str
    tenant_id: str
    provider: str
    suspended: bool
    limits: TenantLimits
    leads_per_day: tuple[int, int]
    verification: Mapping[str, str]


@dataclass
class Outcome:
    stored: int = 0
    duplicates: int = 0
    statuses: int = 0
    ignored: list[str] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "stored": self.stored,
            "duplicates": self.duplicates,
            "statuses": self.statuses,
            "ignored": self.ignored,
        }


def _decode(reply: tenant_pb.ResolveChannelResponse) -> ResolvedChannel:
    limits = reply.tenant.limits
    return ResolvedChannel(
        channel_id=reply.channel.id,
        tenant_id=reply.tenant.id,
        provider=next(k for k, v in PROVIDER_PB.items() if v == reply.channel.provider),
        suspended=reply.tenant.status == tenant_pb.TENANT_STATUS_SUSPENDED,
        limits=TenantLimits(limits.messages_per_minute_soft, limits.messages_per_minute_hard),
        leads_per_day=(limits.leads_per_day_soft, limits.leads_per_day_hard),
        verification=dict(reply.verification),
    )


class Ingress:
    def __init__(
        self,
        clients: Clients,
        counter: LimitCounter,
        cache_ttl: float = 30.0,
        batch_max: int = 128,
        batch_inflight: int = 2,
        batch_overlap_min: int = 16,
    ) -> None:
        self.clients = clients
        self.counter = counter
        # Fresh for 75-100 % of CHANNEL_CACHE_SECONDS (jitter), so channels resolved together are not
        # refreshed together, and all due at once when tenant's routing epoch moves (follow_routing):
        # on a channel receiving webhooks a settings change shows within CHANNEL_EPOCH_SECONDS plus
        # one lookup, or CHANNEL_CACHE_SECONDS plus one lookup if the epoch cannot be read. An
        # answer is never older than 3× CHANNEL_CACHE_SECONDS (the bound while tenant is unreachable).
        self.channels: TtlCache[tuple[str, str, str], ResolvedChannel] = TtlCache(
            cache_ttl, negative_ttl=2.0, name="gateway channel cache"
        )
        self._service = CallContext(role=SERVICE_ROLE).metadata()
        self.batcher = IngestBatcher(self._send_batch, batch_max, batch_inflight, batch_overlap_min)

    async def follow_routing(self, every: float) -> None:
        """Poll tenant's routing epoch every `every` seconds, forever; when it moves, every cached
        channel is refreshed on its next use (kit.cache.TtlCache.expire_all)."""

        async def read() -> int:
            reply = await self.clients.tenant.GetRoutingEpoch(
                tenant_pb.GetRoutingEpochRequest(), metadata=self._service, timeout=max(every, 1.0)
            )
            return int(reply.epoch)

        await epoch.follow(
            read,
            self.channels.expire_all,
            every,
            what="routing epoch",
            meanwhile=f"channel settings now refresh every {self.channels.ttl:.0f} s",
            log=log,
        )

    async def _send_batch(self, request: conv_pb.IngestBatchRequest) -> conv_pb.IngestBatchResponse:
        reply: conv_pb.IngestBatchResponse = await self.clients.conversation.IngestBatch(
            request, metadata=self._service
        )
        return reply

    async def resolve(
        self, provider: str, *, token: str = "", external_id: str = ""
    ) -> ResolvedChannel | None:
        # Tokens are keyed by digest so the cache never holds them in the clear.
        key = (provider, hashlib.sha256(token.encode()).hexdigest() if token else "", external_id)

        async def load() -> ResolvedChannel:
            request = tenant_pb.ResolveChannelRequest(
                provider=PROVIDER_PB[provider], webhook_token=token, external_id=external_id
            )
            try:
                reply = await self.clients.tenant.ResolveChannel(request, metadata=self._service)
            except grpc.aio.AioRpcError as error:
                if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                    raise Missing from None
                raise
            return _decode(reply)

        return await self.channels.get(key, load)

    async def authenticate(
        self,
        provider: str,
        token: str | None,
        result: canonical.ParseResult,
        body: bytes,
        headers: Mapping[str, str],
    ) -> dict[str, ResolvedChannel]:
        """The channels this payload is for, keyed by business id, each proven authentic."""
        if token is not None:
            channel = await self.resolve(provider, token=token)
            if channel is None:
                raise Rejected(401, "unknown or revoked webhook token")
            if provider == "meta":
                self._check_meta(channel, body, headers)
            return {"": channel}
        if provider in TOKEN_ONLY:
            raise Rejected(
                401, f"{provider} does not sign webhooks: use the channel's webhook URL with its token"
            )
        business_ids = {m.business_id for m in result.messages} | {s.business_id for s in result.statuses}
        if not business_ids or "" in business_ids:
            raise Rejected(
                401, "this payload does not name the business number: use the channel's webhook URL"
            )
        resolved = {}
        for business_id in sorted(business_ids):
            channel = await self.resolve(provider, external_id=business_id)
            if channel is None:
                raise Rejected(403, "no channel is configured for this business number")
            if provider == "meta":
                self._check_meta(channel, body, headers)
            else:
                self._check_dialog360(channel, headers)
            resolved[business_id] = channel
        return resolved

    @staticmethod
    def _check_meta(channel: ResolvedChannel, body: bytes, headers: Mapping[str, str]) -> None:
        header = signatures.header_value(headers, signatures.META_SIGNATURE_HEADER)
        if not signatures.verify_meta_signature(body, header, channel.verification.get("app_secret", "")):
            raise Rejected(401, "invalid or missing X-Hub-Signature-256")

    @staticmethod
    def _check_dialog360(channel: ResolvedChannel, headers: Mapping[str, str]) -> None:
        secret = channel.verification.get("webhook_secret", "")
        presented = signatures.header_value(headers, "x-webhook-secret")
        bearer = signatures.header_value(headers, "authorization") or ""
        if bearer.lower().startswith("bearer "):
            presented = presented or bearer[7:].strip()
        if not signatures.verify_secret(presented, secret):
            raise Rejected(401, "missing or wrong webhook secret header (X-Webhook-Secret or Authorization)")

    async def store(self, result: canonical.ParseResult, channels: dict[str, ResolvedChannel]) -> Outcome:
        outcome = Outcome(ignored=list(result.ignored))

        def channel_of(business_id: str) -> ResolvedChannel:
            return channels.get(business_id) or channels[""]

        work: list[Awaitable[bool | None]] = [
            *(self._ingest(m, channel_of(m.business_id)) for m in result.messages),
            *(self._status(s, channel_of(s.business_id)) for s in result.statuses),
        ]
        # Most webhooks carry one message: awaited directly, without gather's tasks and futures.
        done = [await work[0]] if len(work) == 1 else await asyncio.gather(*work)
        created = done[: len(result.messages)]
        outcome.stored = sum(bool(c) for c in created)
        outcome.duplicates = len(created) - outcome.stored
        outcome.statuses = len(result.statuses)
        return outcome

    async def _ingest(self, message: canonical.InboundMessage, channel: ResolvedChannel) -> bool:
        level, count = await message_level(self.counter, channel.tenant_id, channel.limits)
        proto = wire.to_proto(message)
        proto.channel_id = channel.channel_id
        request = conv_pb.IngestInboundRequest(
            tenant_id=channel.tenant_id,
            message=proto,
            limits=conv_pb.LimitState(
                messages_per_minute=LEVEL_PB[level],
                tenant_suspended=channel.suspended,
                new_leads_per_day_soft=channel.leads_per_day[0],
                new_leads_per_day_hard=channel.leads_per_day[1],
            ),
        )
        reply = await self.batcher.ingest(request)
        child(MESSAGES, channel.tenant_id, message.provider, "false" if reply.created else "true").inc()
        self._note_limits(channel, level, count, reply)
        return bool(reply.created)

    @staticmethod
    def _note_limits(channel: ResolvedChannel, level: Level, count: int, reply: Any) -> None:
        hits = list(reply.soft_limits_hit)
        if level is Level.HARD and count == channel.limits.messages_per_minute_hard + 1:
            hits.append("messages_per_minute_hard")
        if reply.auto_reply_blocked == "leads_per_day_hard":
            hits.append("leads_per_day_hard")
        for limit in hits:
            LIMIT_HITS.labels(channel.tenant_id, limit).inc()
            # Once per crossing (the first message over), not once per message over the limit.
            if limit != "messages_per_minute_soft" or count == channel.limits.messages_per_minute_soft + 1:
                log.warning("tenant %s crossed %s", channel.tenant_id, limit)

    async def _status(self, status: canonical.StatusUpdate, channel: ResolvedChannel) -> None:
        if status.status not in STATUS_PB:
            return  # "deleted" has no delivery meaning for us; it stays in the ignored count
        request = conv_pb.RecordStatusRequest(
            tenant_id=channel.tenant_id,
            provider=status.provider,
            provider_message_id=status.external_id,
            status=STATUS_PB[status.status],  # type: ignore[arg-type]
            error_code=status.error_code,
            error_title=status.error_title or status.error_reason,
            at=wire.timestamp(status.at),
        )
        metadata = CallContext(tenant_id=channel.tenant_id, role=SERVICE_ROLE).metadata()
        await self.clients.conversation.RecordStatus(request, metadata=metadata)
