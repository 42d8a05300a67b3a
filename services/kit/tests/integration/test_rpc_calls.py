"""kit.rpc's servers and channels: what every call gets on both sides (call context, service
credential, default deadline, trace context, spans, statuses, metrics), on a probe service."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from opentelemetry import context, trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, StatusCode, TraceFlags
from prometheus_client import REGISTRY

from kit import context as callctx
from kit import rpc
from kit.errors import InvalidArgument
from kit.testing import TEST_SECRET_KEY

SERVICE = "vellarys.test.v1.Probe"


async def _echo(request: bytes, servicer_context: grpc.aio.ServicerContext) -> bytes:
    """What the handler sees: the call context and the current span."""
    span = trace.get_current_span().get_span_context()
    return json.dumps(
        {
            "tenant": callctx.get().tenant_id,
            "role": callctx.get().role,
            "trace_id": span.trace_id,
            "span_id": span.span_id,
            "remaining": servicer_context.time_remaining(),
            "body": request.decode(),
        }
    ).encode()


async def _fail(request: bytes, servicer_context: grpc.aio.ServicerContext) -> bytes:
    raise InvalidArgument("phone: not a phone number")


async def _crash(request: bytes, servicer_context: grpc.aio.ServicerContext) -> bytes:
    raise RuntimeError("a bug")


async def _count(request: bytes, servicer_context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
    for n in range(int(request)):
        yield f"{n}:{callctx.get().tenant_id}".encode()


def _register(server: grpc.aio.Server) -> None:
    handlers = {
        "Echo": grpc.unary_unary_rpc_method_handler(_echo),
        "Fail": grpc.unary_unary_rpc_method_handler(_fail),
        "Crash": grpc.unary_unary_rpc_method_handler(_crash),
        "Count": grpc.unary_stream_rpc_method_handler(_count),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))


@pytest.fixture
async def server() -> AsyncIterator[rpc.Server]:
    built = rpc.build_server(_register, [SERVICE], port=0)
    await built.start()
    rpc.configure_internal_auth(TEST_SECRET_KEY)
    yield built
    rpc.configure_internal_auth(None)
    await built.stop(0)


@pytest.fixture
async def channel(server: rpc.Server) -> AsyncIterator[grpc.aio.Channel]:
    async with rpc.make_channel(f"127.0.0.1:{server.port}", deadline=7.0) as made:
        yield made


def _unary(channel: grpc.aio.Channel, name: str) -> Any:
    return channel.unary_unary(f"/{SERVICE}/{name}")


async def test_the_call_context_the_credential_and_the_deadline_travel(channel: grpc.aio.Channel) -> None:
    token = callctx.current.set(callctx.CallContext(tenant_id="t-1", role="admin"))
    try:
        seen = json.loads(await _unary(channel, "Echo")(b"oi"))
        # The caller's own metadata wins over the ambient call context for the same key.
        mine = json.loads(await _unary(channel, "Echo")(b"oi", metadata=(("x-vellarys-tenant", "t-2"),)))
        streamed = [item async for item in channel.unary_stream(f"/{SERVICE}/Count")(b"2")]
    finally:
        callctx.current.reset(token)
    assert (seen["tenant"], seen["role"], seen["body"]) == ("t-1", "admin", "oi")
    assert 6.0 < seen["remaining"] < 7.5  # the channel's default deadline (7 s), give or take clocks
    assert mine["tenant"] == "t-2"
    assert streamed == [b"0:t-1", b"1:t-1"]


async def test_a_call_without_the_credential_is_refused_but_probes_are_answered(server: rpc.Server) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as raw:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await raw.unary_unary(f"/{SERVICE}/Echo")(b"oi")
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await anext(aiter(raw.unary_stream(f"/{SERVICE}/Count")(b"1")))
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert await rpc.check_health(raw, rpc.LIVENESS) == "SERVING"


async def test_errors_become_statuses_on_the_wire_in_spans_and_in_metrics(
    channel: grpc.aio.Channel, spans: Any
) -> None:
    def handled(method: str, code: str) -> float:
        labels = {"service": SERVICE, "method": method, "code": code}
        return REGISTRY.get_sample_value("vellarys_grpc_server_handled_total", labels) or 0.0

    before = handled("Fail", "INVALID_ARGUMENT"), handled("Crash", "INTERNAL"), handled("Echo", "OK")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await _unary(channel, "Fail")(b"")
    assert (err.value.code(), err.value.details()) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "phone: not a phone number",
    )
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await _unary(channel, "Crash")(b"")
    assert (err.value.code(), err.value.details()) == (grpc.StatusCode.INTERNAL, "internal error")
    await _unary(channel, "Echo")(b"")
    after = handled("Fail", "INVALID_ARGUMENT"), handled("Crash", "INTERNAL"), handled("Echo", "OK")
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1]

    finished = spans.get_finished_spans()
    for method, code in (("Fail", grpc.StatusCode.INVALID_ARGUMENT), ("Crash", grpc.StatusCode.INTERNAL)):
        mine = {s.kind: s for s in finished if s.name == f"/{SERVICE}/{method}"}
        assert set(mine) == {SpanKind.CLIENT, SpanKind.SERVER}
        for span in mine.values():
            assert span.attributes["rpc.grpc.status_code"] == code.value[0]
            assert (span.attributes["rpc.service"], span.attributes["rpc.method"]) == (SERVICE, method)
        assert mine[SpanKind.CLIENT].status.status_code is StatusCode.ERROR
    # OpenTelemetry's gRPC conventions: a server span is an error only for a fault of the server's.
    server_status = {
        s.name.rsplit("/", 1)[1]: s.status.status_code for s in finished if s.kind is SpanKind.SERVER
    }
    assert server_status == {"Fail": StatusCode.UNSET, "Crash": StatusCode.ERROR, "Echo": StatusCode.UNSET}
    ok = [s for s in finished if s.name == f"/{SERVICE}/Echo"]
    assert [s.status.status_code for s in ok] == [StatusCode.UNSET, StatusCode.UNSET]
    assert {s.attributes["rpc.grpc.status_code"] for s in ok} == {0}


async def test_a_sampled_call_is_a_client_span_with_the_server_span_under_it(
    channel: grpc.aio.Channel, spans: Any
) -> None:
    with trace.get_tracer("test").start_as_current_span("caller") as caller:
        seen = json.loads(await _unary(channel, "Echo")(b""))
    by_name = {(s.name, s.kind): s for s in spans.get_finished_spans()}
    client = by_name[(f"/{SERVICE}/Echo", SpanKind.CLIENT)]
    server = by_name[(f"/{SERVICE}/Echo", SpanKind.SERVER)]
    assert client.parent.span_id == caller.get_span_context().span_id
    assert server.parent.span_id == client.context.span_id
    # The handler runs inside the server span: its own statements and calls join the trace.
    assert (seen["trace_id"], seen["span_id"]) == (server.context.trace_id, server.context.span_id)


async def test_a_trace_begun_elsewhere_continues_through_the_call(
    channel: grpc.aio.Channel, spans: Any
) -> None:
    remote = SpanContext(trace_id=0xABC, span_id=0xDEF, is_remote=True, trace_flags=TraceFlags(1))
    token = context.attach(trace.set_span_in_context(NonRecordingSpan(remote)))
    try:
        seen = json.loads(await _unary(channel, "Echo")(b""))
    finally:
        context.detach(token)
    mine = {s.kind: s for s in spans.get_finished_spans() if s.name == f"/{SERVICE}/Echo"}
    assert mine[SpanKind.CLIENT].parent.span_id == 0xDEF
    assert mine[SpanKind.SERVER].parent.span_id == mine[SpanKind.CLIENT].context.span_id
    assert {s.context.trace_id for s in mine.values()} == {0xABC}
    assert seen["trace_id"] == 0xABC


async def test_closers_run_after_the_calls_in_flight_drained_and_one_failing_stops_none() -> None:
    """close_on_stop: what handlers use (an HTTP session) is closed only once no call needs it."""
    started = asyncio.Event()
    release = asyncio.Event()
    events: list[str] = []

    async def slow(request: bytes, servicer_context: grpc.aio.ServicerContext) -> bytes:
        started.set()
        await release.wait()
        events.append("call answered")
        return b"done"

    def register(server: grpc.aio.Server) -> None:
        handler = {"Slow": grpc.unary_unary_rpc_method_handler(slow)}
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handler),))

    async def failing() -> None:
        events.append("first closer")
        raise RuntimeError("a closer that fails")

    async def second() -> None:
        events.append("second closer")

    built = rpc.build_server(register, [SERVICE], port=0)
    built.close_on_stop(failing)
    built.close_on_stop(second)
    await built.start()
    rpc.configure_internal_auth(TEST_SECRET_KEY)
    try:
        async with rpc.make_channel(f"127.0.0.1:{built.port}", deadline=7.0) as made:
            call = asyncio.ensure_future(_unary(made, "Slow")(b""))
            await started.wait()
            stopping = asyncio.ensure_future(built.stop(5))
            await asyncio.sleep(0.2)
            assert events == []  # draining: nothing closed under the call in flight
            release.set()
            assert await call == b"done"
            await stopping
    finally:
        rpc.configure_internal_auth(None)
    assert events == ["call answered", "first closer", "second closer"]
    await built.stop(0)  # a second stop closes nothing twice
    assert events == ["call answered", "first closer", "second closer"]
