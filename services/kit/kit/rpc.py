"""grpc.aio servers and channels, built the same way in every service.

Servers get the standard health service (NOT_SERVING until the readiness check passes, and again
while draining), reflection, OpenTelemetry and the error/context interceptor. Channels put the call
context into metadata and a deadline on every call.
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
from opentelemetry.instrumentation.grpc import aio_client_interceptors, aio_server_interceptor
from opentelemetry.instrumentation.utils import suppress_instrumentation

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


class ServiceInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Call context into a ContextVar; DomainError → its status; anything else → INTERNAL."""

    async def intercept_service(self, continuation: Callable[[Any], Awaitable[Any]], details: Any) -> Any:
        handler = await continuation(details)
        if handler is None or (handler.unary_unary is None and handler.unary_stream is None):
            return handler
        call_context = callctx.CallContext.from_metadata(details.invocation_metadata)
        method = details.method
        labels = metrics.split_method(method)
        authentic = method.startswith(_UNCHECKED_PREFIXES) or _authentic(details.invocation_metadata)
        if handler.unary_stream is not None:
            return _stream_handler(handler, call_context, method, labels, authentic)
        inner = handler.unary_unary

        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            if not authentic:
                await _refuse(context, labels)
            token = callctx.current.set(call_context)
            started = time.perf_counter()

            def record(code: grpc.StatusCode) -> None:
                metrics.child(metrics.GRPC_SECONDS, *labels).observe(time.perf_counter() - started)
                metrics.child(metrics.GRPC_HANDLED, *labels, code.name).inc()

            try:
                reply = await inner(request, context)
            except BaseException as error:
                await _settle(error, context, method, record)
                raise
            finally:
                callctx.current.reset(token)
            record(grpc.StatusCode.OK)
            return reply

        return grpc.unary_unary_rpc_method_handler(
            unary,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


async def _refuse(context: grpc.aio.ServicerContext, labels: tuple[str, str]) -> None:
    metrics.child(metrics.GRPC_HANDLED, *labels, "UNAUTHENTICATED").inc()
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


def _stream_handler(
    handler: Any, call_context: callctx.CallContext, method: str, labels: tuple[str, str], authentic: bool
) -> Any:
    """The same guarantees for server-streaming calls (live event streams)."""
    inner = handler.unary_stream

    async def stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        if not authentic:
            await _refuse(context, labels)
        token = callctx.current.set(call_context)

        def record(code: grpc.StatusCode) -> None:
            metrics.child(metrics.GRPC_HANDLED, *labels, code.name).inc()

        try:
            async for item in inner(request, context):
                yield item
        except BaseException as error:
            await _settle(error, context, method, record)
            raise
        finally:
            callctx.current.reset(token)
        record(grpc.StatusCode.OK)

    return grpc.unary_stream_rpc_method_handler(
        stream,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


class ContextClientInterceptor(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """Forwards the current call context as metadata and bounds every call with a deadline."""

    def __init__(self, deadline: float) -> None:
        self._deadline = deadline

    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: Any, request: Any
    ) -> Any:
        return await continuation(_with_context(details, self._deadline), request)


class ContextStreamInterceptor(grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[misc]
    """The same for server-streaming calls, which are long-lived: no default deadline."""

    async def intercept_unary_stream(
        self, continuation: Callable[..., Any], details: Any, request: Any
    ) -> Any:
        return await continuation(_with_context(details, None), request)


def _with_context(details: Any, deadline: float | None) -> Any:
    metadata = list(details.metadata or ())
    present = {key for key, _ in metadata}
    metadata.extend(p for p in callctx.get().metadata() if p[0] not in present)
    if _internal_token is not None:
        metadata.append((INTERNAL_KEY, _internal_token))
    return grpc.aio.ClientCallDetails(
        method=details.method,
        timeout=details.timeout if details.timeout is not None else deadline,
        metadata=metadata,
        credentials=details.credentials,
        wait_for_ready=details.wait_for_ready,
    )


def make_channel(target: str, *, deadline: float = 5.0) -> grpc.aio.Channel:
    interceptors: list[Any] = [
        ContextClientInterceptor(deadline),
        ContextStreamInterceptor(),
        *aio_client_interceptors(),
    ]
    return grpc.aio.insecure_channel(
        target,
        interceptors=interceptors,
        options=[
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.keepalive_timeout_ms", 10_000),
            ("grpc.enable_retries", 1),
            ("grpc.max_send_message_length", 8 * 1024 * 1024),
        ],
    )


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
        self._closers: list[Callable[[], Awaitable[None]]] = []
        self.serving = False

    def close_on_stop(self, close: Callable[[], Awaitable[None]]) -> None:
        """Have stop() await `close` once the calls in flight have drained: for what the handlers
        use and the server owns (an HTTP session, say). Closers run in the order given; a failing
        one is logged and does not keep the others from running."""
        self._closers.append(close)

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
        closers, self._closers = self._closers, []
        for close in closers:
            try:
                await close()
            except Exception:
                log.exception("closing after the server stopped failed")


def build_server(
    register: Callable[[grpc.aio.Server], None],
    service_names: Iterable[str],
    *,
    port: int = 0,
    host: str = "127.0.0.1",
    readiness: Readiness | None = None,
    readiness_interval: float = 2.0,
    extra_interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
) -> Server:
    names = list(service_names)
    server = grpc.aio.server(
        interceptors=[aio_server_interceptor(), ServiceInterceptor(), *extra_interceptors],
        # CSV imports up to 5 MiB travel in one message: raise gRPC's 4 MiB default with margin.
        options=[("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", 8 * 1024 * 1024)],
    )
    register(server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
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
