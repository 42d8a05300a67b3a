"""What the conversation service asks of ai, notify and tenant, over gRPC (the _pb2 stays here).

Calls are made as the internal "service" role bound to the job's tenant, never as whoever called us.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from conversation.domain import Outgoing
from kit import context as callctx
from kit.context import CallContext
from kit.timestamps import timestamp_or_none
from vellarys.ai.v1 import ai_pb2 as apb
from vellarys.ai.v1 import ai_pb2_grpc as apb_grpc
from vellarys.notify.v1 import notify_pb2 as npb
from vellarys.notify.v1 import notify_pb2_grpc as npb_grpc
from vellarys.tenant.v1 import tenant_pb2 as tpb
from vellarys.tenant.v1 import tenant_pb2_grpc as tpb_grpc

log = logging.getLogger(__name__)
SERVICE_ROLE = "service"
ROLES = {"lead": apb.ROLE_LEAD, "assistant": apb.ROLE_ASSISTANT, "seller": apb.ROLE_SELLER}
OUTCOMES = {value: name.removeprefix("OUTCOME_").lower() for name, value in apb.Outcome.items()}


@contextmanager
def acting_for(tenant_id: str) -> Iterator[None]:
    token = callctx.current.set(CallContext(tenant_id=tenant_id, role=SERVICE_ROLE))
    try:
        yield
    finally:
        callctx.current.reset(token)


@dataclass(frozen=True)
class Turn:
    role: str  # lead, assistant, seller
    text: str
    sent_at: datetime | None = None
    media_type: str = ""


@dataclass(frozen=True)
class ProfileItem:
    name: str
    value: str
    evidence: str = ""
    confidence: float = 0.0


@dataclass(frozen=True)
class AiRequest:
    tenant_id: str
    lead_id: str
    lead_name: str
    history: list[Turn]
    profile: list[ProfileItem]
    window_expires_at: datetime | None
    job_id: str
    attempt: int


@dataclass(frozen=True)
class AiReply:
    text: str
    outcome: str  # ok, offline, fallback, error, breaker_open
    profile: list[ProfileItem] = field(default_factory=list)
    score: int = 0
    score_reasons: list[str] = field(default_factory=list)
    handoff: bool = False
    handoff_reason: str = ""
    retry_later: bool = False
    opt_out: bool = False
    opt_in: bool = False


class AiPort:
    def __init__(self, stub: apb_grpc.AiServiceStub, deadline: float) -> None:
        self.stub = stub
        self.deadline = deadline

    async def generate(self, request: AiRequest) -> AiReply:
        message = apb.GenerateReplyRequest(
            tenant_id=request.tenant_id,
            lead_id=request.lead_id,
            lead_name=request.lead_name,
            history=[
                apb.HistoryMessage(
                    role=ROLES[t.role],
                    text=t.text,
                    sent_at=timestamp_or_none(t.sent_at),
                    media_type=t.media_type,
                )
                for t in request.history
            ],
            profile=[
                apb.QualificationField(
                    name=p.name, value=p.value, evidence=p.evidence, confidence=p.confidence
                )
                for p in request.profile
            ],
            window_expires_at=timestamp_or_none(request.window_expires_at),
            job_id=request.job_id,
            attempt=request.attempt,
        )
        with acting_for(request.tenant_id):
            r = await self.stub.GenerateReply(message, timeout=self.deadline)
        return AiReply(
            text=r.text,
            outcome=OUTCOMES.get(r.outcome, "unspecified"),
            profile=[ProfileItem(f.name, f.value, f.evidence, f.confidence) for f in r.profile],
            score=r.score,
            score_reasons=list(r.score_reasons),
            handoff=r.handoff,
            handoff_reason=r.handoff_reason,
            retry_later=r.retry_later,
            opt_out=r.opt_out,
            opt_in=r.opt_in,
        )


class NotifyPort:
    def __init__(self, stub: npb_grpc.NotifyServiceStub, deadline: float) -> None:
        self.stub = stub
        self.deadline = deadline

    async def send(self, out: Outgoing) -> str:
        """notify's delivery id; SendMessage is idempotent on the message id, so resending is safe."""
        request = npb.SendMessageRequest(
            tenant_id=str(out.tenant_id),
            message_id=str(out.message_id),
            channel_id=str(out.channel_id or ""),
            recipient=out.recipient,
            text=out.text,
            window_open=out.window_open,
        )
        with acting_for(str(out.tenant_id)):
            reply = await self.stub.SendMessage(request, timeout=self.deadline)
        return str(reply.delivery_id)


class DebounceCache:
    """The tenants' debounce seconds, read from their AI settings off the ingest path.

    IngestInbound must stay fast and never waits on the tenant service: it takes the cached value (or
    the configured default) and, when that is missing or older than `ttl`, refreshes it in the
    background for the next message.
    """

    def __init__(self, stub: tpb_grpc.TenantServiceStub | None, default: float, ttl: float) -> None:
        self.stub = stub
        self.default = default
        self.ttl = ttl
        self._values: dict[str, tuple[float, float]] = {}
        self._refreshing: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def seconds(self, tenant_id: str) -> float:
        cached = self._values.get(tenant_id)
        if (cached is None or time.monotonic() - cached[1] > self.ttl) and self.stub is not None:
            self._refresh_soon(tenant_id)
        return cached[0] if cached is not None else self.default

    def _refresh_soon(self, tenant_id: str) -> None:
        if tenant_id in self._refreshing:
            return
        self._refreshing.add(tenant_id)
        task = asyncio.get_running_loop().create_task(self._refresh(tenant_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _refresh(self, tenant_id: str) -> None:
        assert self.stub is not None
        try:
            with acting_for(tenant_id):
                reply = await self.stub.GetAiSettings(
                    tpb.GetAiSettingsRequest(tenant_id=tenant_id), timeout=2
                )
            value = reply.current.settings.debounce_seconds
            self._values[tenant_id] = (float(max(value, 0)), time.monotonic())
        except Exception as exc:  # the default serves until the tenant service answers again
            log.warning("tenant AI settings unavailable, debounce default kept: %s", type(exc).__name__)
            self._values[tenant_id] = (self._values.get(tenant_id, (self.default, 0.0))[0], time.monotonic())
        finally:
            self._refreshing.discard(tenant_id)


@dataclass(frozen=True)
class Seller:
    id: str
    name: str
    phone: str = ""


@dataclass(frozen=True)
class Notice:
    """A notification to one dashboard user (web push, and WhatsApp when `whatsapp_phone` is set)."""

    tenant_id: str
    user_id: str
    title: str
    body: str
    url: str
    notification_id: str
    whatsapp_phone: str = ""
    channel_id: str = ""
    data: dict[str, str] = field(default_factory=dict)


class TenantPort:
    """The tenant's sellers and the catalog products a text names (for the responsible seller)."""

    def __init__(self, stub: tpb_grpc.TenantServiceStub, deadline: float) -> None:
        self.stub = stub
        self.deadline = deadline

    async def sellers(self, tenant_id: str) -> list[Seller]:
        with acting_for(tenant_id):
            reply = await self.stub.ListAssignableSellers(
                tpb.ListAssignableSellersRequest(tenant_id=tenant_id), timeout=self.deadline
            )
        return [Seller(s.id, s.name, s.phone) for s in reply.sellers]

    async def responsible_sellers(self, tenant_id: str, text: str) -> list[str]:
        """Seller ids of the products the text names (listing code or trigger keyword), best first."""
        if not text.strip():
            return []
        with acting_for(tenant_id):
            reply = await self.stub.MatchProducts(
                tpb.MatchProductsRequest(tenant_id=tenant_id, text=text[:2000], limit=5),
                timeout=self.deadline,
            )
        return [m.product.fields.seller_id for m in reply.matches if m.product.fields.seller_id]


class UserNotifier:
    def __init__(self, stub: npb_grpc.NotifyServiceStub, deadline: float) -> None:
        self.stub = stub
        self.deadline = deadline

    async def notify(self, notice: Notice) -> None:
        request = npb.NotifyUserRequest(
            tenant_id=notice.tenant_id,
            user_id=notice.user_id,
            title=notice.title,
            body=notice.body,
            url=notice.url,
            data=notice.data,
            notification_id=notice.notification_id,
            whatsapp_phone=notice.whatsapp_phone,
            channel_id=notice.channel_id,
        )
        with acting_for(notice.tenant_id):
            await self.stub.NotifyUser(request, timeout=self.deadline)
