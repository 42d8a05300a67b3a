"""AiServicer: decode → use case → encode (the simulator's RPCs live in ai.rpc_simulator).

GenerateReply does not hold a transaction while the model thinks (up to 15 s): the reply is
generated first, then its call-log row is written in one short transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ai import authz, job_calls, metrics, model, service
from ai.breaker import CircuitBreaker
from ai.codec import decode_request, encode_day, encode_reply
from ai.config import Settings
from ai.models import Call
from ai.offline_path import OfflineResponder
from ai.reply import Generated, ReplyInput, Responder
from ai.responder import ModelResponder
from ai.rpc_simulator import SimulatorRpcs
from ai.tenant_port import GrpcTenantPort, ReplyDataChanges, TenantPort
from kit import db, dbstats, epoch, rpc
from vellarys.ai.v1 import ai_pb2 as pb
from vellarys.ai.v1 import ai_pb2_grpc as pb_grpc
from vellarys.tenant.v1 import tenant_pb2_grpc as tpb_grpc

log = logging.getLogger(__name__)


class CallLog:
    """GenerateReply's call log, written off the reply's path so a reply neither waits for its
    bookkeeping row nor fails because of it: the rows of the replies of `window` seconds (at most
    `max_batch`) go in one INSERT on the raw driver that commits alone, so a busy service pays one
    statement and one commit per batch, not per reply. A failed batch is logged. drain() writes what
    is waiting and waits for the writes in flight: shutdown and tests. (A crash loses the rows of at
    most the last window.)"""

    def __init__(self, engine: AsyncEngine, *, window: float = 0.05, max_batch: int = 500) -> None:
        self.engine = engine
        self.window = window
        self.max_batch = max_batch
        self._rows: list[Call] = []
        self._timer: asyncio.TimerHandle | None = None
        self._pending: set[asyncio.Task[None]] = set()

    def add(self, request: ReplyInput, reply: Generated) -> None:
        try:
            self._rows.append(service.call_of(request, reply))
        except Exception as error:  # the reply is made: its bookkeeping must not fail it
            log.warning("call log row of a reply not written: %s", type(error).__name__)
            return
        if len(self._rows) >= self.max_batch:
            self._flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.window, self._flush)

    async def drain(self) -> None:
        self._flush()
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        rows, self._rows = self._rows, []
        if rows:
            task = asyncio.get_running_loop().create_task(self._write(rows))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _write(self, rows: list[Call]) -> None:
        try:
            await service.record_calls_alone(self.engine, rows)
        except Exception as error:
            log.warning("call log rows of %d replies not written: %s", len(rows), type(error).__name__)


class AiServicer(SimulatorRpcs, pb_grpc.AiServiceServicer):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        responder: Responder,
        tenants: TenantPort,
        calls: CallLog,
    ) -> None:
        self.sessions = sessions
        self.responder = responder
        self.tenants = tenants
        self.calls = calls

    async def GenerateReply(
        self, request: pb.GenerateReplyRequest, context: grpc.aio.ServicerContext
    ) -> pb.GenerateReplyResponse:
        decoded = decode_request(request)
        reply = await service.generate_reply(decoded, self.responder)
        metrics.REPLIES.labels(reply.outcome.value).inc()
        self.calls.add(decoded, reply)
        return encode_reply(reply)

    async def GetUsage(
        self, request: pb.GetUsageRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetUsageResponse:
        # The reply path's reports read any tenant; a dashboard user only its own (the superadmin any).
        tenant_id = authz.tenant_scope(request.tenant_id, allow_system=True)
        async with self.sessions.begin() as session:
            days = await service.get_usage(
                session, tenant_id, request.from_day, request.to_day, request.time_zone
            )
        return pb.GetUsageResponse(days=[encode_day(d) for d in days])

    async def ListJobCalls(
        self, request: pb.ListJobCallsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListJobCallsResponse:
        tenant_id = authz.tenant_scope(request.tenant_id, allow_system=True)
        async with self.sessions.begin() as session:
            calls = await job_calls.list_job_calls(session, tenant_id, request.job_id)
            return pb.ListJobCallsResponse(calls=[job_calls.encode_call(c) for c in calls])


def tenant_port(settings: Settings) -> GrpcTenantPort:
    # The channel connects on first use: an offline ai service that never asks costs nothing.
    channel = rpc.make_channel(settings.tenant_addr, deadline=settings.grpc_deadline_seconds)
    return GrpcTenantPort(tpb_grpc.TenantServiceStub(channel))


def make_responder(settings: Settings, tenants: TenantPort, breaker: CircuitBreaker | None) -> Responder:
    if not settings.model_enabled:
        log.info("no OPENAI_API_KEY: the built-in Portuguese responder answers")
        return OfflineResponder(tenants, settings.ai_tenant_cache_seconds)
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
    calls: CallLog | None = None,
    responder: Responder | None = None,
) -> rpc.Server:
    tenants = tenants or tenant_port(settings)
    responder = responder or make_responder(settings, tenants, breaker)
    servicer = AiServicer(db.session_factory(engine), responder, tenants, calls or CallLog(engine))
    server = rpc.build_server(
        lambda server: pb_grpc.add_AiServiceServicer_to_server(servicer, server),
        [pb.DESCRIPTOR.services_by_name["AiService"].full_name],
        host=settings.ai_host,
        port=settings.ai_port if port is None else port,
        readiness=lambda: db.ping(engine),
    )
    if isinstance(responder, ModelResponder):
        server.close_on_stop(responder.aclose)
    return server


async def follow_reply_data(tenants: GrpcTenantPort, responder: Responder, every: float) -> None:
    """Poll tenant's reply-data epoch every `every` seconds, forever; when it moves, the cached copies
    of the data of the tenants that changed are refreshed on their next use (everyone's, when a
    niche changed or too many tenants did)."""
    last = ReplyDataChanges(0, True, frozenset())  # the last answer: its epoch is the one seen

    async def read() -> int:
        nonlocal last
        last = await tenants.reply_data_changes(last.epoch)
        return last.epoch

    def changed() -> None:
        if last.everyone:
            tenants.expire_all()
        if isinstance(responder, OfflineResponder | ModelResponder):
            if last.everyone:
                responder.expire_all()
            else:
                responder.expire_tenants(last.tenant_ids)

    await epoch.follow(
        read,
        changed,
        every,
        what="reply-data epoch",
        meanwhile="tenant settings and catalogs now refresh on their cache time",
        log=log,
    )


async def serve(settings: Settings) -> None:
    engine = db.service_engine(settings, "ai", settings.ai_database_url)
    calls = CallLog(engine)
    tenants = tenant_port(settings)
    responder = make_responder(settings, tenants, None)
    server = build(settings, engine, calls=calls, tenants=tenants, responder=responder)
    stats = dbstats.watch(engine, "ai", settings)
    follower = (
        asyncio.get_running_loop().create_task(
            follow_reply_data(tenants, responder, settings.ai_tenant_epoch_seconds)
        )
        if settings.ai_tenant_epoch_seconds > 0
        else None
    )

    async def stopped() -> None:
        if follower is not None:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower
        await stats.stop()
        await calls.drain()  # the rows of the last replies, before the pool closes
        await engine.dispose()

    await rpc.serve_until_signalled(server, settings.grpc_grace_seconds, on_stop=stopped)
