"""The sender worker: claims due deliveries (SKIP LOCKED, so replicas share work), sends them through
the tenant's provider and records each attempt. Nothing here blocks: a delivery that must wait (pacing,
backoff) is rescheduled through next_attempt_at, and every HTTP call is bounded in time and size.

Provider sends go through one aiohttp session: it costs about a fifth of httpx's CPU per POST. Nothing
instruments it, so `_post` opens the CLIENT span and injects `traceparent` itself."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import aiohttp
import grpc
import httpx
import orjson
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from notify import metrics
from notify.clients import ChannelNotFound, Credentials
from notify.config import Settings
from notify.models import Delivery
from notify.pacing import Limits, LocalPacer, Pacer
from notify.providers import (
    OUTSIDE_WINDOW,
    WINDOWED,
    Channel,
    Request,
    Result,
    Template,
    build_request,
    classify,
    digits,
)
from notify.reports import SentReports
from notify.repository import DeliveryRepository, SendPathRepository

log = logging.getLogger(__name__)
tracer = trace.get_tracer("notify.sender")


@dataclass(frozen=True)
class Backoff:
    base: float
    cap: float

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with full jitter; a provider's Retry-After is a floor."""
        jitter = random.uniform(0, min(self.cap, self.base * 2 ** max(0, attempt - 1)))
        return max(jitter, min(retry_after, 3600.0)) if retry_after is not None else jitter


def http_session(settings: Settings) -> aiohttp.ClientSession:
    """The session for providers' send APIs. Build it in the running loop; close it on shutdown.

    The total timeout bounds the whole exchange, body read included. Redirects are not followed
    (`_post`). The trust store is httpx's (certifi, or SSL_CERT_FILE / SSL_CERT_DIR), as before.
    No cookie jar: a send API is stateless, and one tenant's cookies must not reach another's call."""
    timeout = aiohttp.ClientTimeout(
        total=settings.http_total_timeout,
        sock_connect=settings.http_connect_timeout,  # TCP and TLS, as httpx's connect timeout
        ceil_threshold=math.inf,  # exact deadlines: aiohttp rounds those over 5 s up to the second
    )
    connector = aiohttp.TCPConnector(
        limit=settings.sender_concurrency * 2,
        keepalive_timeout=5.0,  # httpx's idle expiry
        ssl=httpx.create_ssl_context(),
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        cookie_jar=aiohttp.DummyCookieJar(),
        json_serialize_bytes=orjson.dumps,  # compact UTF-8, the bytes httpx sent
    )


class Sender:
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        credentials: Credentials,
        http: aiohttp.ClientSession,
        pacer: Pacer | None = None,
        conversation: SentReports | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        # The steps that are one atomic statement (claims, a sent outcome) run straight on the driver,
        # outside any transaction: each commits alone, without BEGIN and COMMIT.
        self.engine: AsyncEngine = sessions.kw["bind"]
        self.credentials = credentials
        self.http = http
        self.pacer = pacer or LocalPacer(limits(settings))
        self._fallback = LocalPacer(limits(settings))
        self.conversation = conversation
        self.backoff = Backoff(settings.backoff_base_seconds, settings.backoff_cap_seconds)
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._reserved = 0  # slots promised by lease_for_now() and not yet taken by send_now()
        self._full = False  # all slots were taken when the loop last looked
        self._loop: asyncio.Task[None] | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.create_task(self._run(), name="notify-sender")

    async def stop(self, grace: float = 5.0) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        if self._inflight:
            # Unfinished sends keep their lease and are retried by whoever claims them after it.
            await asyncio.wait(self._inflight, timeout=grace)

    def wake(self) -> None:
        self._wake.set()

    def lease_for_now(self) -> uuid.UUID | None:
        """A claim token for a delivery about to be queued, when this running sender has a free slot to
        send it at once (`send_now` after the commit); None: queue it for the loop to claim."""
        if self._loop is None or self._loop.done():
            return None
        if len(self._inflight) + self._reserved >= self.settings.sender_concurrency:
            return None
        self._reserved += 1
        return uuid.uuid4()

    def send_now(self, delivery: Delivery | None, token: uuid.UUID) -> None:
        """Send a delivery born leased to `token` (None: it was not created, the lease is unused)."""
        self._reserved -= 1
        if delivery is not None:
            self._spawn(delivery, token)

    async def _run(self) -> None:
        while True:
            self._wake.clear()  # before claiming: a wake during the claim is not lost
            try:
                claimed = await self._claim_and_spawn()
            except Exception:
                log.exception("claiming deliveries failed")
                claimed = 0
            if claimed == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.sender_poll_seconds)

    async def _claim_and_spawn(self) -> int:
        free = self.settings.sender_concurrency - len(self._inflight) - self._reserved
        if free <= 0:
            self._full = True
            return 0
        token = uuid.uuid4()
        async with self.engine.connect() as connection:
            batch = await SendPathRepository(connection).claim(
                free, self.settings.sender_lease_seconds, token
            )
        for delivery in batch:
            self._spawn(delivery, token)
        return len(batch)

    def _spawn(self, delivery: Delivery, token: uuid.UUID) -> asyncio.Task[None]:
        task = asyncio.create_task(self._process(delivery, token), name=f"deliver-{delivery.id}")
        self._inflight.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._inflight.discard(t)
            if self._full:  # a slot is free, and due deliveries may have waited for one
                self._full = False
                self._wake.set()

        task.add_done_callback(done)
        return task

    async def attempt_now(self, delivery_id: uuid.UUID) -> None:
        """Claims and sends this one delivery at once if it is due and nobody holds it (wait=true)."""
        token = uuid.uuid4()
        async with self.engine.connect() as connection:
            claimed = await SendPathRepository(connection).claim_one(
                delivery_id, self.settings.sender_lease_seconds, token
            )
        if claimed is not None:
            await asyncio.shield(self._spawn(claimed, token))

    async def process_due(self) -> int:
        """Sends everything due now and waits for it: for tests and tools, not the serving path."""
        total = 0
        while (n := await self._claim_and_spawn()) > 0:
            total += n
            await asyncio.gather(*list(self._inflight), return_exceptions=True)
        return total

    # --- one delivery ------------------------------------------------------------------------

    async def _process(self, delivery: Delivery, token: uuid.UUID) -> None:
        parent = propagate.extract({"traceparent": delivery.traceparent} if delivery.traceparent else {})
        with tracer.start_as_current_span("notify.deliver", context=parent) as span:
            span.set_attribute("vellarys.tenant_id", str(delivery.tenant_id))
            span.set_attribute("vellarys.delivery_id", str(delivery.id))
            try:
                await self._deliver(delivery, token)
            except Exception:
                # The lease runs out and another claim retries it; the worker itself keeps going.
                log.exception("delivery %s crashed", delivery.id)

    async def _deliver(self, delivery: Delivery, token: uuid.UUID) -> None:
        channel = await self._channel(delivery, token)
        if channel is None:
            return
        template = None
        if channel.provider in WINDOWED and not delivery.window_open:
            if not delivery.template_name:
                reason = (
                    f"{OUTSIDE_WINDOW}: the lead last wrote more than 24 hours ago and no template is set"
                )
                await self._record(
                    delivery,
                    token,
                    channel.provider,
                    Result("failed", error=reason, error_code=OUTSIDE_WINDOW),
                    0,
                )
                return
            template = Template(
                delivery.template_name,
                delivery.template_language or "pt_BR",
                tuple(delivery.template_params or ()),
            )
        wait = await self._pace(channel, delivery.recipient)
        if wait > 0:
            await self._reschedule(delivery, token, channel.provider, wait)
            return
        request = build_request(
            channel, self.settings.base_urls[channel.provider], delivery.recipient, delivery.text, template
        )
        started = time.perf_counter()
        result = await self._post(channel.provider, request)
        elapsed = time.perf_counter() - started
        metrics.DELIVERY_SECONDS.labels(channel.provider).observe(elapsed)
        await self._record(delivery, token, channel.provider, result, elapsed, template)

    async def _channel(self, delivery: Delivery, token: uuid.UUID) -> Channel | None:
        failure: Result | None = None
        if delivery.channel_id is None:
            failure = Result(
                "failed", error="no_channel: the message names no WhatsApp channel", error_code="no_channel"
            )
        else:
            try:
                channel = await self.credentials.get(str(delivery.tenant_id), str(delivery.channel_id))
            except ChannelNotFound as error:
                failure = Result(
                    "failed", error=f"channel_not_found: {error}", error_code="channel_not_found"
                )
            except grpc.aio.AioRpcError as error:
                failure = Result("retry", error=f"tenant service unavailable: {error.code().name}")
            else:
                if channel.active and channel.provider:
                    return channel
                failure = Result(
                    "failed",
                    error="channel_inactive: the WhatsApp channel is disabled",
                    error_code="channel_inactive",
                )
        await self._record(delivery, token, delivery.provider or "unknown", failure, 0)
        return None

    async def _pace(self, channel: Channel, recipient: str) -> float:
        try:
            return await self.pacer.take(channel.id, digits(recipient) or recipient)
        except Exception:
            # Redis down: keep this replica within the limits on its own rather than stop sending.
            log.warning("shared pacing unavailable, pacing in-process", exc_info=True)
            return await self._fallback.take(channel.id, digits(recipient) or recipient)

    async def _post(self, provider: str, request: Request) -> Result:
        with tracer.start_as_current_span(f"POST {provider}", kind=SpanKind.CLIENT) as span:
            traced = span.is_recording()
            if traced:
                span.set_attribute("http.request.method", "POST")
                span.set_attribute("server.address", urlsplit(request.url).hostname or "")
            headers = dict(request.headers)
            propagate.inject(headers)
            try:
                async with self.http.post(
                    request.url, headers=headers, json=request.json, data=request.form,
                    allow_redirects=False,  # a redirect is recorded as a failed attempt, never followed
                ) as response:  # fmt: skip
                    body = await self._read(response)
                    status, answer = response.status, _lowered(response.headers)
            except TimeoutError as error:  # aiohttp's timeout errors are also ClientErrors: first
                _failed(span, error)
                return Result(
                    "retry", error=f"timeout: no answer within {self.settings.http_total_timeout:g}s"
                )
            except (aiohttp.ClientError, OSError) as error:
                _failed(span, error)
                return Result("retry", error=f"connection error: {type(error).__name__}")
            if traced:
                span.set_attribute("http.response.status_code", status)
                if status >= 400:
                    span.set_attribute("error.type", str(status))
                    span.set_status(StatusCode.ERROR)
        return classify(provider, status, answer, body)

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        """At most http_max_response_bytes: a provider cannot make us buffer an endless body."""
        limit, chunks, size = self.settings.http_max_response_bytes, [], 0
        while size < limit and not response.content.at_eof():
            chunk = await response.content.read(limit - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)

    # --- outcomes ----------------------------------------------------------------------------

    async def _reschedule(self, delivery: Delivery, token: uuid.UUID, provider: str, wait: float) -> None:
        metrics.PACED.labels(provider).inc()
        values = {"next_attempt_at": func.now() + timedelta(seconds=wait), "provider": provider}
        async with self.sessions.begin() as session:
            await DeliveryRepository(session).finish(delivery.id, token, values)

    async def _record(
        self, delivery: Delivery, token: uuid.UUID, provider: str, result: Result, elapsed: float,
        template: Template | None = None,
    ) -> None:  # fmt: skip
        attempt = delivery.attempts + 1
        outcome, values = self._outcome(attempt, result)
        values |= {"attempts": attempt, "provider": provider}
        if outcome == "sent":
            values |= {"provider_message_id": result.provider_message_id, "sent_at": func.now()}
            values |= {"sent_template": template.name if template else None}
        row = {
            "delivery_id": delivery.id, "tenant_id": delivery.tenant_id, "attempt": attempt,
            "outcome": outcome, "http_status": result.http_status, "error": result.error,
            "duration_ms": int(elapsed * 1000),
        }  # fmt: skip
        if outcome == "sent":  # the common case, in one statement
            sent = {"provider": provider, "provider_message_id": result.provider_message_id}
            sent["sent_template"] = template.name if template else None
            async with self.engine.connect() as connection:
                recorded = await SendPathRepository(connection).record_sent(delivery.id, token, row, sent)
        else:
            async with self.sessions.begin() as session:
                repo = DeliveryRepository(session)
                recorded = await repo.finish(delivery.id, token, values) is not None
                if recorded:
                    await repo.add_attempt(row)
        if not recorded:
            log.warning("delivery %s: claim lost before its outcome was recorded", delivery.id)
            return
        metrics.DELIVERIES.labels(provider, outcome).inc()
        if outcome == "sent" and delivery.source == "conversation" and self.conversation is not None:
            await self.conversation.record_outbound_sent(
                str(delivery.tenant_id), str(delivery.message_id), provider, result.provider_message_id or ""
            )

    def _outcome(self, attempt: int, result: Result) -> tuple[str, dict[str, object]]:
        if result.outcome == "sent":
            return "sent", {"status": "sent", "last_error": None, "error_code": None}
        failure = {"last_error": result.error, "error_code": result.error_code}
        if result.outcome == "failed":
            return "failed", {"status": "failed", **failure}
        if attempt >= self.settings.max_attempts:
            return "dead", {"status": "dead", **failure}
        delay = self.backoff.delay(attempt, result.retry_after)
        return "retry", {
            "status": "queued",
            "next_attempt_at": func.now() + timedelta(seconds=delay),
            **failure,
        }


def _lowered(headers: Mapping[str, str]) -> dict[str, str]:
    """Names lowercased, a repeated header's values joined by ", " (what `classify` always got)."""
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        lowered[key] = f"{lowered[key]}, {value}" if key in lowered else value
    return lowered


def _failed(span: trace.Span, error: BaseException) -> None:
    if span.is_recording():
        span.set_attribute("error.type", type(error).__qualname__)
        span.set_status(StatusCode.ERROR)


def limits(settings: Settings) -> Limits:
    return Limits(
        settings.pace_number_per_second,
        settings.pace_recipient_burst,
        settings.pace_recipient_interval_seconds,
    )
