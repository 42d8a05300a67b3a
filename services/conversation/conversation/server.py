"""ConversationServicer: decode → one use case in one transaction → encode."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
import grpc
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from conversation import authz, diagnosis, events, leads, ownership, service
from conversation.assigner import make_assigner
from conversation.codec import (
    decode_filters,
    decode_inbound,
    decode_limits,
    decode_status,
    encode_event,
    encode_lead,
    encode_message,
)
from conversation.config import Settings
from conversation.diagnosis_rpc import GrpcLookups
from conversation.diagnosis_rpc import encode as encode_diagnosis
from conversation.domain import Debounce, Ingested
from conversation.events import EventHub
from conversation.ports import AiPort, DebounceCache, NotifyPort
from conversation.replies import Policy
from conversation.rpc_live import LiveRpcs
from conversation.worker import ReplyWorker, WorkerConfig
from kit import db, dbstats, rpc
from kit.dbadmin import asyncpg_dsn
from kit.errors import DomainError, InvalidArgument
from vellarys.ai.v1 import ai_pb2_grpc as apb_grpc
from vellarys.conversation.v1 import conversation_pb2 as pb
from vellarys.conversation.v1 import conversation_pb2_grpc as pb_grpc
from vellarys.notify.v1 import notify_pb2_grpc as npb_grpc
from vellarys.tenant.v1 import tenant_pb2_grpc as tpb_grpc

log = logging.getLogger(__name__)
# Deadlock and serialization failure: Postgres rolled the batch back; running it again is safe.
RETRYABLE = frozenset({"40P01", "40001"})
BATCH_ATTEMPTS = 3
# Items of one RecordOutboundSentBatch call (notify sends at most 100).
MAX_SENT_BATCH = 500


def _carrier(item: pb.IngestInboundRequest) -> dict[str, str] | None:
    if not item.traceparent:
        return None
    return {"traceparent": item.traceparent, "tracestate": item.tracestate}


def _item_error(code: grpc.StatusCode, message: str) -> pb.IngestBatchResult:
    return pb.IngestBatchResult(error=pb.IngestItemError(code=code.value[0], message=message))


def _sent_error(code: grpc.StatusCode, message: str) -> pb.RecordOutboundSentResult:
    return pb.RecordOutboundSentResult(error=pb.IngestItemError(code=code.value[0], message=message))


def _encode_ingested(r: Ingested) -> pb.IngestInboundResponse:
    return pb.IngestInboundResponse(
        lead_id=r.lead_id,
        message_id=r.message_id,
        created=r.created,
        lead_created=r.lead_created,
        conversation_id=r.conversation_id,
        auto_reply=r.auto_reply,
        auto_reply_blocked=r.auto_reply_blocked,
        soft_limits_hit=list(r.soft_limits_hit),
        reply_scheduled=r.reply_scheduled,
    )


class Conflict(DomainError):
    code = grpc.StatusCode.ABORTED


class ConversationServicer(LiveRpcs, pb_grpc.ConversationServiceServicer):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        debounce: DebounceCache,
        max_wait_factor: float,
        outbox: ReplyWorker,
    ) -> None:
        self.sessions = sessions
        self.engine: AsyncEngine = sessions.kw["bind"]
        self.debounce = debounce
        self.max_wait_factor = max_wait_factor
        self.outbox = outbox

    def _debounce(self, request: pb.IngestInboundRequest) -> Debounce:
        given = request.reply_debounce_seconds
        seconds = float(given) if given > 0 else self.debounce.seconds(request.tenant_id)
        return Debounce(seconds, seconds * self.max_wait_factor)

    async def IngestInbound(
        self, request: pb.IngestInboundRequest, context: grpc.aio.ServicerContext
    ) -> pb.IngestInboundResponse:
        message, limits = decode_inbound(request.message), decode_limits(request)
        debounce = self._debounce(request)
        async with self.sessions.begin() as session:
            r = await service.ingest_inbound(session, request.tenant_id, message, limits, debounce)
        if r.reply_scheduled:  # committed: this process's reply workers claim it the moment it is due
            self.outbox.notice(debounce.seconds)
        return _encode_ingested(r)

    async def IngestBatch(
        self, request: pb.IngestBatchRequest, context: grpc.aio.ServicerContext
    ) -> pb.IngestBatchResponse:
        """Each item answered on its own: invalid ones fail alone, the lead messages share one
        transaction (the function takes their locks in one order; retried on deadlock, stored one by
        one if the batch fails)."""
        authz.require_internal()
        results: list[pb.IngestBatchResult | None] = [None] * len(request.items)
        batch: list[tuple[int, service.LeadMessage]] = []
        general: list[int] = []
        delays = [self._debounce(item) for item in request.items]
        for i, item in enumerate(request.items):
            try:
                prepared = service.lead_message(
                    item.tenant_id,
                    decode_inbound(item.message),
                    decode_limits(item),
                    delays[i],
                    _carrier(item),
                )
            except DomainError as error:
                results[i] = _item_error(error.code, error.message)
                continue
            if prepared is None:
                general.append(i)
            else:
                batch.append((i, prepared))
        stored = await self._store_batch([item for _, item in batch])
        for (i, _), outcome in zip(batch, stored, strict=True):
            results[i] = outcome
        for i in general:
            results[i] = await self._ingest_one(request.items[i], delays[i])
        answered = [r for r in results if r is not None]
        assert len(answered) == len(results), "every item is answered"
        for result, debounce in zip(answered, delays, strict=True):
            if result.HasField("ok") and result.ok.reply_scheduled:
                self.outbox.notice(debounce.seconds)
        return pb.IngestBatchResponse(results=answered)

    async def _store_batch(self, items: list[service.LeadMessage]) -> list[pb.IngestBatchResult]:
        for attempt in range(BATCH_ATTEMPTS):
            try:
                # One statement on the raw driver: it commits alone, without BEGIN and COMMIT.
                async with self.engine.connect() as connection:
                    done = await service.ingest_lead_messages_alone(connection, items)
                return [pb.IngestBatchResult(ok=_encode_ingested(r)) for r in done]
            except asyncpg.PostgresError as error:
                code = getattr(error, "sqlstate", None)
                if code not in RETRYABLE or attempt == BATCH_ATTEMPTS - 1:
                    log.warning("batch ingest failed (%s): storing its %d items one by one", code, len(items))
                    break
        return [await self._store_one(item) for item in items]

    async def _store_one(self, item: service.LeadMessage) -> pb.IngestBatchResult:
        async def store(session: AsyncSession) -> Ingested:
            return (await service.ingest_lead_messages(session, [item]))[0]

        return await self._alone(store)

    async def _ingest_one(self, item: pb.IngestInboundRequest, debounce: Debounce) -> pb.IngestBatchResult:
        async def store(session: AsyncSession) -> Ingested:
            message, limits = decode_inbound(item.message), decode_limits(item)
            return await service.ingest_inbound(
                session, item.tenant_id, message, limits, debounce, _carrier(item)
            )

        return await self._alone(store)

    async def _alone(self, store: Callable[[AsyncSession], Awaitable[Ingested]]) -> pb.IngestBatchResult:
        """One item in its own transaction; a failure is that item's answer, not the call's."""
        try:
            async with self.sessions.begin() as session:
                return pb.IngestBatchResult(ok=_encode_ingested(await store(session)))
        except DomainError as error:
            return _item_error(error.code, error.message)
        except Exception as error:  # the store failed: this item's webhook gets a retryable error
            log.warning("ingest of one message failed: %s", type(error).__name__)
            return _item_error(grpc.StatusCode.UNAVAILABLE, "storage failed: retry later")

    async def RecordOutboundSent(
        self, request: pb.RecordOutboundSentRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecordOutboundSentResponse:
        args = (request.tenant_id, request.message_id, request.provider, request.provider_message_id)
        # The echo webhook can commit the same provider id between our check and our update: the
        # unique index refuses ours, and the general path then sees (and folds in) the echo.
        with contextlib.suppress(asyncpg.UniqueViolationError):
            async with self.engine.connect() as connection:
                status = await service.try_record_outbound_sent(connection, *args)
            if status is not None:
                return pb.RecordOutboundSentResponse(status=status)
        return pb.RecordOutboundSentResponse(status=await self._record_sent(args))

    async def _record_sent(self, args: tuple[str, str, str, str]) -> str:
        """RecordOutboundSent's general path: the echo folded in, early statuses attached."""
        for attempt in range(3):
            try:
                async with self.sessions.begin() as session:
                    return await service.record_outbound_sent(session, *args)
            except IntegrityError:
                if attempt == 2:
                    raise Conflict("provider_message_id is being recorded concurrently, retry") from None
        raise AssertionError("unreachable")

    async def RecordOutboundSentBatch(
        self, request: pb.RecordOutboundSentBatchRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecordOutboundSentBatchResponse:
        """Each item answered as RecordOutboundSent would answer it; the common ones (no echo, no
        early status) in one statement, the rest one by one."""
        authz.require_internal()
        if len(request.items) > MAX_SENT_BATCH:
            raise InvalidArgument(f"at most {MAX_SENT_BATCH} items per call, got {len(request.items)}")
        items = [(r.tenant_id, r.message_id, r.provider, r.provider_message_id) for r in request.items]
        results: list[pb.RecordOutboundSentResult | None] = [None] * len(items)
        checked: dict[tuple[str, str], tuple[int, tuple[uuid.UUID, uuid.UUID, str, str]]] = {}
        for i, args in enumerate(items):
            try:
                parsed = service.sent_args(*args)
            except DomainError as error:
                results[i] = _sent_error(error.code, error.message)
                continue
            checked.setdefault((args[0], args[1]), (i, parsed))  # a repeated message: alone, below
        together = list(checked.values())
        with contextlib.suppress(asyncpg.UniqueViolationError):
            async with self.engine.connect() as connection:
                statuses = await service.try_record_outbound_sent_many(connection, [p for _, p in together])
            for (i, _), status in zip(together, statuses, strict=True):
                if status is not None:
                    results[i] = pb.RecordOutboundSentResult(ok=pb.RecordOutboundSentResponse(status=status))
        for i, args in enumerate(items):
            if results[i] is None:
                results[i] = await self._record_sent_alone(args)
        return pb.RecordOutboundSentBatchResponse(results=[r for r in results if r is not None])

    async def _record_sent_alone(self, args: tuple[str, str, str, str]) -> pb.RecordOutboundSentResult:
        try:
            status = await self._record_sent(args)
        except DomainError as error:
            return _sent_error(error.code, error.message)
        except Exception as error:  # the store failed: this item is worth retrying
            log.warning("recording one sent message failed: %s", type(error).__name__)
            return _sent_error(grpc.StatusCode.UNAVAILABLE, "storage failed: retry later")
        return pb.RecordOutboundSentResult(ok=pb.RecordOutboundSentResponse(status=status))

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
            return pb.GetLeadResponse(lead=encode_lead(lead, await ownership.detail(session, lead)))

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

    async def TakeOver(
        self, request: pb.TakeOverRequest, context: grpc.aio.ServicerContext
    ) -> pb.TakeOverResponse:
        async with self.sessions.begin() as session:
            detail = await ownership.take_over(session, request.tenant_id, request.lead_id)
            return pb.TakeOverResponse(lead=encode_lead(detail.lead, detail))

    async def ReturnToAi(
        self, request: pb.ReturnToAiRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReturnToAiResponse:
        async with self.sessions.begin() as session:
            detail = await ownership.return_to_ai(session, request.tenant_id, request.lead_id)
            return pb.ReturnToAiResponse(lead=encode_lead(detail.lead, detail))

    async def SendHumanMessage(
        self, request: pb.SendHumanMessageRequest, context: grpc.aio.ServicerContext
    ) -> pb.SendHumanMessageResponse:
        async with self.sessions.begin() as session:
            message, outgoing = await ownership.send_human_message(
                session, request.tenant_id, request.lead_id, request.text
            )
        # After commit: a failed hand-over leaves the message pending for the sweeper, never lost.
        delivery_id = await self.outbox.hand_over(outgoing)
        return pb.SendHumanMessageResponse(message=encode_message(message), delivery_id=delivery_id)

    async def ListConversationEvents(
        self, request: pb.ListConversationEventsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListConversationEventsResponse:
        async with self.sessions.begin() as session:
            events = await ownership.list_events(session, request.tenant_id, request.lead_id)
            return pb.ListConversationEventsResponse(events=[encode_event(e) for e in events])

    async def DiagnoseLead(
        self, request: pb.DiagnoseLeadRequest, context: grpc.aio.ServicerContext
    ) -> pb.DiagnoseLeadResponse:
        async with self.sessions.begin() as session:
            stored = await diagnosis.gather(session, request.tenant_id, request.lead_id)
        lookups = GrpcLookups(self.outbox.ai.stub, self.outbox.notify.stub)
        return encode_diagnosis(await diagnosis.run(stored, lookups))


@dataclass(frozen=True)
class Peers:
    """The other services the conversation service calls; tests pass in-process ones."""

    ai: AiPort
    notify: NotifyPort
    tenant: tpb_grpc.TenantServiceStub | None


def connect(settings: Settings) -> Peers:
    deadline = settings.grpc_deadline_seconds
    ai = apb_grpc.AiServiceStub(
        rpc.make_channel(settings.ai_addr, deadline=settings.reply_ai_deadline_seconds)
    )
    notify = npb_grpc.NotifyServiceStub(rpc.make_channel(settings.notify_addr, deadline=deadline))
    tenant = tpb_grpc.TenantServiceStub(rpc.make_channel(settings.tenant_addr, deadline=deadline))
    return Peers(
        AiPort(ai, settings.reply_ai_deadline_seconds),
        NotifyPort(notify, settings.reply_notify_deadline_seconds),
        tenant,
    )


def make_worker(settings: Settings, engine: AsyncEngine, peers: Peers, name: str = "worker") -> ReplyWorker:
    config = WorkerConfig(
        workers=settings.reply_workers,
        lease=settings.reply_lease_seconds,
        poll=settings.reply_poll_seconds,
        sweep_every=settings.reply_sweep_seconds,
        sweep_grace=settings.reply_sweep_grace_seconds,
        metrics_every=settings.reply_metrics_seconds,
        policy=Policy(settings.reply_retry_first_seconds, settings.reply_retry_max_seconds),
        assign_every=settings.assignment_sweep_seconds,
    )
    events.attach(engine)
    sessions = db.session_factory(engine)
    assigner = make_assigner(settings, sessions, peers.tenant, peers.notify.stub)
    return ReplyWorker(sessions, peers.ai, peers.notify, config, name, assigner)


def build(
    settings: Settings, engine: AsyncEngine, port: int | None = None, *, peers: Peers | None = None
) -> rpc.Server:
    """The gRPC server (the reply worker is started separately: serve(), or a test)."""
    peers = peers or connect(settings)
    events.attach(engine)
    debounce = DebounceCache(
        peers.tenant, settings.reply_debounce_seconds, settings.reply_settings_cache_seconds
    )
    servicer = ConversationServicer(
        db.session_factory(engine),
        debounce,
        settings.reply_max_wait_factor,
        make_worker(settings, engine, peers, "rpc"),
    )
    servicer.hub = EventHub(asyncpg_dsn(engine.url.render_as_string(hide_password=False)))
    return rpc.build_server(
        lambda server: pb_grpc.add_ConversationServiceServicer_to_server(servicer, server),
        [pb.DESCRIPTOR.services_by_name["ConversationService"].full_name],
        host=settings.conversation_host,
        port=settings.conversation_port if port is None else port,
        readiness=lambda: db.ping(engine),
    )


async def serve(settings: Settings) -> None:
    engine = db.service_engine(settings, "conversation", settings.conversation_database_url)
    peers = connect(settings)
    server = build(settings, engine, peers=peers)
    worker = make_worker(settings, engine, peers, f"worker-{uuid.uuid4().hex[:8]}")
    worker.start()
    stats = dbstats.watch(engine, "conversation", settings)

    async def stop() -> None:
        await stats.stop()
        await worker.stop()
        await engine.dispose()

    await rpc.serve_until_signalled(server, settings.grpc_grace_seconds, on_stop=stop)
