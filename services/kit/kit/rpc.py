"""grpc.aio servers and channels, built the same way in every service.

Servers get the standard health service (NOT_SERVING until the readiness check passes, and again
while draining), reflection, and around every method: its trace span, the call context, the service
credential check, metrics and the mapping of errors to statuses. Channels put the call context, the
service credential and the trace context into metadata and a deadline on every call.

Neither side uses grpc.aio interceptors. An intercepted client call runs in an extra task through
InterceptedUnaryUnaryCall, and a server with interceptors awaits their chain on every call to find
the handler; with OpenTelemetry's interceptors and ours that was about 0.2 ms of CPU per call, client
and server together, a third of a bare call's cost (microbenchmark, 8,000 calls). Here the server's
method handlers are wrapped once, when they are registered, and the client's multicallables are
wrapped once, when a stub is built: per call, one plain function call on each side. Spans keep
OpenTelemetry's gRPC conventions (name `/package.Service/Method`, kind, `rpc.*` attributes); a client
span is made only inside a sampled trace, elsewhere the caller's trace context is passed on as it is.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled, suppress_instrumentation
from opentelemetry.trace import SpanKind, Status, StatusCode

from kit import context as callctx
from kit import metrics
from kit.config import derive_secret
from kit.errors import DomainError

log = logging.getLogger(__name__)

Readiness = Callable[[], Awaitable[bool]]

# Services trust the tenant/actor/role metadata of a call only from a caller that proves it holds
# SECRET_KEY: every channel sends a key derived from it, every server checks it (probes excepted).
INTERNAL_KEY = "x-vellarys-internal"
_UNCHECKED_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
_internal_token: str | None = None


def configure_internal_auth(secret_key: str | None) -> None:
    """Turn on (or, with None, off) the shared-secret check of service-to-service calls."""
    global _internal_token
    _internal_token = derive_secret(secret_key, "internal-rpc") if secret_key else None


def _authentic(metadata: Any) -> bool:
    if _internal_token is None:
        return True
    for key, value in metadata or ():
        if key == INTERNAL_KEY and isinstance(value, str):
            return hmac.compare_digest(value, _internal_token)
    return False


# A health name that answers SERVING while the process is alive, whatever its database does:
# liveness probes ask for it, so a database outage takes pods out of rotation without restarts.
LIVENESS = "liveness"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


_tracer = trace.get_tracer("kit.rpc")
# The metadata keys OpenTelemetry's propagators read (W3C trace context and baggage).
_TRACE_KEYS = frozenset(("traceparent", "tracestate", "baggage"))
STATUS_CODE = "rpc.grpc.status_code"


def _server_span(method: str, metadata: Any, attributes: dict[str, Any]) -> trace.Span:
    """The SERVER span of one call, continuing the caller's trace when the metadata carries one."""
    carrier: dict[str, str] = {}
    for key, value in metadata or ():
        if key in _TRACE_KEYS and isinstance(value, str):
            carrier[key] = value
    parent = propagate.extract(carrier) if "traceparent" in carrier else None
    return _tracer.start_span(method, context=parent, kind=SpanKind.SERVER, attributes=attributes)


def _end_status(span: trace.Span, code: grpc.StatusCode) -> None:
    if code is not grpc.StatusCode.OK and span.is_recording():
        span.set_attribute(STATUS_CODE, code.value[0])
        span.set_status(Status(StatusCode.ERROR, code.name))


class _Method:
    """What every call of one server method shares: its labels, span attributes and metric children."""

    def __init__(self, method: str) -> None:
        self.name = method
        self.labels = metrics.split_method(method)
        self.checked = not method.startswith(_UNCHECKED_PREFIXES)
        self.attributes = {
            "rpc.system": "grpc",
            "rpc.service": self.labels[0],
            "rpc.method": self.labels[1],
            STATUS_CODE: grpc.StatusCode.OK.value[0],
        }
        self.seconds = metrics.GRPC_SECONDS.labels(*self.labels)
        self.ok = metrics.GRPC_HANDLED.labels(*self.labels, grpc.StatusCode.OK.name)

    def handled(self, code: grpc.StatusCode) -> None:
        if code is grpc.StatusCode.OK:
            self.ok.inc()
        else:
            metrics.GRPC_HANDLED.labels(*self.labels, code.name).inc()


def wrap_handler(handler: Any, method: str) -> Any:
    """`handler` (a grpc.RpcMethodHandler of `method`) with its span, the call context in a
    ContextVar, the credential check, metrics, and DomainError → its status / anything else →
    INTERNAL. Streaming-request handlers (reflection's) are returned as they are."""
    if handler is None or (handler.unary_unary is None and handler.unary_stream is None):
        return handler
    m = _Method(method)
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(
            _stream_handler(handler.unary_stream, m),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    inner = handler.unary_unary

    async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
        metadata = context.invocation_metadata()
        span = _server_span(m.name, metadata, m.attributes)
        attached = otel_context.attach(trace.set_span_in_context(span))
        try:
            if m.checked and not _authentic(metadata):
                _end_status(span, grpc.StatusCode.UNAUTHENTICATED)
                await _refuse(context, m.labels)
            token = callctx.current.set(callctx.CallContext.from_metadata(metadata))
            started = time.perf_counter()

            def record(code: grpc.StatusCode) -> None:
                m.seconds.observe(time.perf_counter() - started)
                m.handled(code)
                _end_status(span, code)

            try:
                reply = await inner(request, context)
            except BaseException as error:
                await _settle(error, context, m.name, record)
                raise
            finally:
                callctx.current.reset(token)
            record(grpc.StatusCode.OK)
            return reply
        finally:
            otel_context.detach(attached)
            span.end()

    return grpc.unary_unary_rpc_method_handler(
        unary,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


async def _refuse(context: grpc.aio.ServicerContext, labels: tuple[str, str]) -> None:
    metrics.GRPC_HANDLED.labels(*labels, "UNAUTHENTICATED").inc()
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, "internal call without a valid service credential")


def _outcome(error: BaseException, context: grpc.aio.ServicerContext) -> tuple[grpc.StatusCode, str | None]:
    """The status a failed call ends with, and the message to abort with (None: already ended)."""
    if isinstance(error, grpc.aio.AbortError):
        return context.code() or grpc.StatusCode.UNKNOWN, None
    if isinstance(error, (asyncio.CancelledError, GeneratorExit)):
        return grpc.StatusCode.CANCELLED, None
    if isinstance(error, DomainError):
        return error.code, error.message
    return grpc.StatusCode.INTERNAL, "internal error"


async def _settle(error: BaseException, context: grpc.aio.ServicerContext, method: str, record: Any) -> None:
    """Record the call's final status, then turn domain errors and surprises into an abort."""
    code, message = _outcome(error, context)
    record(code)
    if code is grpc.StatusCode.INTERNAL and message is not None:
        log.error("unhandled error in %s", method, exc_info=error)
    if message is not None:
        await context.abort(code, message)


def _stream_handler(inner: Any, m: _Method) -> Any:
    """The same guarantees for server-streaming calls (live event streams); the span lasts the stream."""

    async def stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        metadata = context.invocation_metadata()
        span = _server_span(m.name, metadata, m.attributes)
        try:
            with trace.use_span(span, record_exception=False, set_status_on_exception=False):
                if m.checked and not _authentic(metadata):
                    _end_status(span, grpc.StatusCode.UNAUTHENTICATED)
                    await _refuse(context, m.labels)
                token = callctx.current.set(callctx.CallContext.from_metadata(metadata))

                def record(code: grpc.StatusCode) -> None:
                    m.handled(code)
                    _end_status(span, code)

                try:
                    async for item in inner(request, context):
                        yield item
                except BaseException as error:
                    await _settle(error, context, m.name, record)
                    raise
                finally:
                    callctx.current.reset(token)
                record(grpc.StatusCode.OK)
        finally:
            span.end()

    return stream


class _WrappedGeneric(grpc.GenericRpcHandler):  # type: ignore[misc]
    """A generic handler whose method handlers come out wrapped (each wrapped once, then kept)."""

    def __init__(self, inner: grpc.GenericRpcHandler) -> None:
        self._inner = inner
        self._wrapped: dict[str, Any] = {}

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> Any:
        method = handler_call_details.method
        found = self._wrapped.get(method)
        if found is None:
            found = wrap_handler(self._inner.service(handler_call_details), method)
            if found is not None:
                self._wrapped[method] = found
        return found


class _WrappingServer(grpc.aio.Server):  # type: ignore[misc]
    """The server as the generated add_*Servicer_to_server functions see it: what they register
    arrives wrapped by wrap_handler."""

    def __init__(self, server: grpc.aio.Server) -> None:
        self._server = server

    def add_generic_rpc_handlers(self, generic_rpc_handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self._server.add_generic_rpc_handlers(tuple(_WrappedGeneric(h) for h in generic_rpc_handlers))

    def add_registered_method_handlers(self, service_name: str, method_handlers: dict[str, Any]) -> None:
        self._server.add_registered_method_handlers(
            service_name,
            {name: wrap_handler(h, f"/{service_name}/{name}") for name, h in method_handlers.items()},
        )

    def add_insecure_port(self, address: str) -> int:
        return int(self._server.add_insecure_port(address))

    def add_secure_port(self, address: str, server_credentials: grpc.ServerCredentials) -> int:
        return int(self._server.add_secure_port(address, server_credentials))

    async def start(self) -> None:
        await self._server.start()

    async def stop(self, grace: float | None) -> None:
        await self._server.stop(grace)

    async def wait_for_termination(self, timeout: float | None = None) -> bool:
        return bool(await self._server.wait_for_termination(timeout))


def _outgoing(metadata: Any) -> list[tuple[str, Any]]:
    """The call's metadata plus the call context (where the caller set no such key) and the credential."""
    pairs = list(metadata or ())
    present = {key for key, _ in pairs}
    pairs.extend(p for p in callctx.get().metadata() if p[0] not in present)
    if _internal_token is not None:
        pairs.append((INTERNAL_KEY, _internal_token))
    return pairs


def _inject(pairs: list[tuple[str, Any]], context: otel_context.Context | None = None) -> None:
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=context)
    pairs.extend(carrier.items())


class _Unary(grpc.aio.UnaryUnaryMultiCallable):  # type: ignore[misc]
    """A unary call with the call context, the credential, the trace context and a deadline."""

    def __init__(self, inner: Any, method: str, deadline: float) -> None:
        self._inner = inner
        self._method = method
        self._deadline = deadline
        service, name = metrics.split_method(method)
        self._attributes = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}

    def __call__(
        self, request: Any, *, timeout: float | None = None, metadata: Any = None, **kwargs: Any
    ) -> Any:
        pairs = _outgoing(metadata)
        if timeout is None:
            timeout = self._deadline
        if not is_instrumentation_enabled():
            return self._inner(request, timeout=timeout, metadata=pairs, **kwargs)
        current = trace.get_current_span().get_span_context()
        if current.is_valid and not current.trace_flags.sampled:
            _inject(pairs)  # an unsampled trace: passed on as it is, no span of its own
            return self._inner(request, timeout=timeout, metadata=pairs, **kwargs)
        span = _tracer.start_span(self._method, kind=SpanKind.CLIENT, attributes=self._attributes)
        if not span.is_recording():  # a new trace the sampler left out
            _inject(pairs, trace.set_span_in_context(span))
            return self._inner(request, timeout=timeout, metadata=pairs, **kwargs)
        return self._traced(span, request, timeout, pairs, kwargs)

    async def _traced(
        self, span: trace.Span, request: Any, timeout: float, pairs: list[tuple[str, Any]],
        kwargs: dict[str, Any],
    ) -> Any:  # fmt: skip
        with trace.use_span(span, end_on_exit=True, record_exception=False, set_status_on_exception=False):
            _inject(pairs)
            try:
                reply = await self._inner(request, timeout=timeout, metadata=pairs, **kwargs)
            except grpc.aio.AioRpcError as error:
                span.set_attribute(STATUS_CODE, error.code().value[0])
                span.set_status(Status(StatusCode.ERROR, f"{error.code().name}: {error.details()}"))
                raise
            span.set_attribute(STATUS_CODE, grpc.StatusCode.OK.value[0])
            return reply


class _Stream(grpc.aio.UnaryStreamMultiCallable):  # type: ignore[misc]
    """A server-streaming call (long-lived: no default deadline) with the same metadata; the server's
    span joins the caller's trace (no client span: the stream outlives the request that opened it)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __call__(
        self, request: Any, *, timeout: float | None = None, metadata: Any = None, **kwargs: Any
    ) -> Any:
        pairs = _outgoing(metadata)
        if is_instrumentation_enabled():
            _inject(pairs)
        return self._inner(request, timeout=timeout, metadata=pairs, **kwargs)


class _Channel(grpc.aio.Channel):  # type: ignore[misc]
    """A channel whose unary and server-streaming calls go through _Unary and _Stream. No service
    of ours makes client- or bidi-streaming calls: those pass through as the plain channel makes them."""

    def __init__(self, inner: grpc.aio.Channel, deadline: float) -> None:
        self._inner = inner
        self._deadline = deadline

    async def __aenter__(self) -> _Channel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._inner.close(None)

    async def close(self, grace: float | None = None) -> None:
        await self._inner.close(grace)

    def get_state(self, try_to_connect: bool = False) -> grpc.ChannelConnectivity:
        return self._inner.get_state(try_to_connect)

    async def wait_for_state_change(self, last_observed_state: grpc.ChannelConnectivity) -> None:
        await self._inner.wait_for_state_change(last_observed_state)

    async def channel_ready(self) -> None:
        await self._inner.channel_ready()

    def unary_unary(self, method: str, request_serializer: Any = None, response_deserializer: Any = None,
                    _registered_method: bool | None = False) -> Any:  # fmt: skip
        inner = self._inner.unary_unary(method, request_serializer, response_deserializer, _registered_method)
        return _Unary(inner, method, self._deadline)

    def unary_stream(self, method: str, request_serializer: Any = None, response_deserializer: Any = None,
                     _registered_method: bool | None = False) -> Any:  # fmt: skip
        call = self._inner.unary_stream(method, request_serializer, response_deserializer, _registered_method)
        return _Stream(call)

    def stream_unary(self, method: str, request_serializer: Any = None, response_deserializer: Any = None,
                     _registered_method: bool | None = False) -> Any:  # fmt: skip
        return self._inner.stream_unary(method, request_serializer, response_deserializer, _registered_method)

    def stream_stream(self, method: str, request_serializer: Any = None, response_deserializer: Any = None,
                      _registered_method: bool | None = False) -> Any:  # fmt: skip
        inner = self._inner
        return inner.stream_stream(method, request_serializer, response_deserializer, _registered_method)


def make_channel(target: str, *, deadline: float = 5.0) -> grpc.aio.Channel:
    channel = grpc.aio.insecure_channel(
        target,
        options=[
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.keepalive_timeout_ms", 10_000),
            ("grpc.enable_retries", 1),
            ("grpc.max_send_message_length", 8 * 1024 * 1024),
        ],
    )
    return _Channel(channel, deadline)


class Server:
    """A built, not yet started, gRPC server with its health servicer."""

    def __init__(
        self,
        server: grpc.aio.Server,
        port: int,
        health_servicer: health.aio.HealthServicer,
        service_names: Sequence[str],
        readiness: Readiness | None,
        readiness_interval: float,
    ) -> None:
        self.grpc = server
        self.port = port
        self.health = health_servicer
        self._names = ["", *service_names]
        self._readiness = readiness
        self._interval = readiness_interval
        self._watch: asyncio.Task[None] | None = None
        self._stopping = False
        self.serving = False

    async def _set(self, serving: bool) -> None:
        if serving != self.serving:
            log.info("health %s", "SERVING" if serving else "NOT_SERVING")
        self.serving = serving
        for name in self._names:
            await self.health.set(name, SERVING if serving else NOT_SERVING)

    async def _watch_readiness(self) -> None:
        while not self._stopping:
            try:
                # A probe every few seconds is not an operation worth a trace of its own.
                with suppress_instrumentation():
                    ready = True if self._readiness is None else await self._readiness()
            except Exception:
                log.exception("readiness check failed")
                ready = False
            if not self._stopping:
                await self._set(ready)
            await asyncio.sleep(self._interval)

    async def start(self) -> None:
        await self.health.set(LIVENESS, SERVING)
        await self._set(False)
        await self.grpc.start()
        self._watch = asyncio.create_task(self._watch_readiness(), name="readiness")

    async def stop(self, grace: float) -> None:
        """NOT_SERVING first so balancers stop sending, then drain in-flight calls."""
        self._stopping = True
        if self._watch:
            self._watch.cancel()
        await self.health.enter_graceful_shutdown()
        await self.grpc.stop(grace)


def build_server(
    register: Callable[[grpc.aio.Server], None],
    service_names: Iterable[str],
    *,
    port: int = 0,
    host: str = "127.0.0.1",
    readiness: Readiness | None = None,
    readiness_interval: float = 2.0,
) -> Server:
    names = list(service_names)
    server = grpc.aio.server(
        # CSV imports up to 5 MiB travel in one message: raise gRPC's 4 MiB default with margin.
        options=[("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", 8 * 1024 * 1024)],
    )
    wrapping = _WrappingServer(server)
    register(wrapping)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, wrapping)
    reflection.enable_server_reflection(
        [*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME],
        server,
    )
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise RuntimeError(f"cannot listen on {host}:{port} (port in use?)")
    return Server(server, bound, health_servicer, names, readiness, readiness_interval)


async def serve_until_signalled(
    server: Server, grace: float, on_stop: Callable[[], Awaitable[None]] | None = None
) -> None:
    """Run until SIGTERM/SIGINT, then go NOT_SERVING, drain for `grace` seconds and clean up."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    log.info("listening on port %d", server.port)
    await stop.wait()
    log.info("stopping: draining for up to %.0fs", grace)
    await server.stop(grace)
    if on_stop is not None:
        await on_stop()
    log.info("stopped")


async def check_health(channel: grpc.aio.Channel, service: str = "", timeout: float = 2.0) -> str:
    """The status name a server reports (SERVING, NOT_SERVING…), or raises grpc.aio.AioRpcError."""
    stub = health_pb2_grpc.HealthStub(channel)
    reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))
