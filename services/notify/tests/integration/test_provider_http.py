"""The provider client's edges, over real sockets on 127.0.0.1: the body on the wire, a body cut at the
size limit, a body that dribbles past the time limit, a refused connection, a redirect that is not
followed, and the CLIENT span whose traceparent reaches the provider."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from opentelemetry.trace import SpanKind

from kit.fakes import providers as fp
from kit.ports import free_port
from vellarys.notify.v1 import notify_pb2 as pb

from .test_sender import meta_path, phone, send, setup

Answer = Callable[[asyncio.StreamWriter], Awaitable[None]]
OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
TEXT = "Olá, São Paulo ✓"


def zapi_path(channel) -> str:
    return f"/instances/{channel.external_id}/token/zapi-instance-token-123/send-text"


@asynccontextmanager
async def raw_provider(answer: Answer) -> AsyncIterator[str]:
    """An HTTP/1.1 server that reads one request and writes what `answer` writes; yields a Meta base
    URL pointing at it."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
                0,
            )  # fmt: skip
            await reader.readexactly(length)
            await answer(writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client hung up: what these tests expect of it
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/{fp.META_VERSION}"
    finally:
        server.close()


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


class TestWire:
    async def test_json_goes_out_compact_and_in_utf8(self, tenancy, fake, notify_stack):
        tenant_id, channel = await setup(tenancy, "zapi")
        to = phone()
        async with notify_stack() as s:
            reply = await s.stub.SendMessage(send(tenant_id, channel.id, to, wait=True, text=TEXT))
        [request] = fake.received(path=zapi_path(channel))
        expected = {"phone": to.lstrip("+"), "message": TEXT}
        assert request.body == json.dumps(expected, ensure_ascii=False, separators=(",", ":")).encode()
        assert request.headers["content-type"] == "application/json"
        assert request.headers["content-length"] == str(len(request.body))
        assert reply.status == pb.DELIVERY_STATUS_SENT


class TestBoundedAnswers:
    async def test_an_endless_body_is_read_up_to_the_limit_and_no_further(self, tenancy, notify_stack):
        """The first 1024 bytes are a complete success answer; everything after is junk that never
        ends. Reading exactly the limit sends it; a byte more or less would make it unreadable."""
        limit = 1024
        answer = json.dumps({"messages": [{"id": "wamid.cut-at-the-limit"}]}).encode().ljust(limit)

        async def endless(writer: asyncio.StreamWriter) -> None:
            writer.write(OK + b"Transfer-Encoding: chunked\r\n\r\n")
            writer.write(chunk(answer))
            for _ in range(100_000):  # ~800 MB if nobody stopped reading
                writer.write(chunk(b"x" * 8192))
                await writer.drain()

        tenant_id, channel = await setup(tenancy, "meta")
        async with raw_provider(endless) as base, notify_stack(
            meta_graph_base_url=base, http_max_response_bytes=limit, http_total_timeout=30
        ) as s:  # fmt: skip
            started = time.monotonic()
            reply = await s.stub.SendMessage(send(tenant_id, channel.id, phone(), wait=True))
            elapsed = time.monotonic() - started
        assert reply.status == pb.DELIVERY_STATUS_SENT, reply.delivery.last_error
        assert reply.delivery.provider_message_id == "wamid.cut-at-the-limit"
        assert elapsed < 3

    async def test_a_body_that_dribbles_past_the_total_timeout_is_a_retry(self, tenancy, notify_stack):
        async def dribble(writer: asyncio.StreamWriter) -> None:
            writer.write(OK + b"Content-Length: 100000\r\n\r\n")
            for _ in range(200):
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(0.05)

        tenant_id, channel = await setup(tenancy, "meta")
        async with raw_provider(dribble) as base, notify_stack(
            meta_graph_base_url=base, http_total_timeout=0.5, backoff_base_seconds=60, backoff_cap_seconds=60
        ) as s:  # fmt: skip
            started = time.monotonic()
            reply = await s.stub.SendMessage(send(tenant_id, channel.id, phone(), wait=True))
            elapsed = time.monotonic() - started
        assert reply.status == pb.DELIVERY_STATUS_QUEUED and reply.delivery.attempts == 1
        assert reply.delivery.last_error == "timeout: no answer within 0.5s"
        assert elapsed < 3


class TestUnreachable:
    async def test_a_refused_connection_is_a_retry(self, tenancy, notify_stack):
        port = free_port()  # a port nobody listens on
        tenant_id, channel = await setup(tenancy, "meta")
        async with notify_stack(
            meta_graph_base_url=f"http://127.0.0.1:{port}/{fp.META_VERSION}",
            backoff_base_seconds=60, backoff_cap_seconds=60,
        ) as s:  # fmt: skip
            reply = await s.stub.SendMessage(send(tenant_id, channel.id, phone(), wait=True))
        assert reply.status == pb.DELIVERY_STATUS_QUEUED and reply.delivery.attempts == 1
        assert reply.delivery.last_error == "connection error: ClientConnectorError"

    async def test_a_redirect_to_a_working_endpoint_is_not_followed(self, tenancy, fake, notify_stack):
        tenant_id, channel = await setup(tenancy, "meta")
        fake.queue(meta_path(channel), fp.redirect(f"{fake.base_url}{meta_path(channel)}"))
        async with notify_stack(backoff_base_seconds=60, backoff_cap_seconds=60) as s:
            reply = await s.stub.SendMessage(send(tenant_id, channel.id, phone(), wait=True))
        assert reply.status == pb.DELIVERY_STATUS_QUEUED
        assert reply.delivery.last_error.startswith("http 302: unexpected redirect")
        assert len(fake.received(path=meta_path(channel))) == 1


class TestTracing:
    async def test_one_client_span_per_send_and_its_traceparent_reaches_the_provider(
        self, tenancy, fake, notify_stack, spans
    ):
        tenant_id, channel = await setup(tenancy, "zapi")
        async with notify_stack() as s:
            await s.stub.SendMessage(send(tenant_id, channel.id, phone(), wait=True))
        [request] = fake.received(path=zapi_path(channel))
        [client] = [span for span in spans.get_finished_spans() if span.name == "POST zapi"]
        assert client.kind is SpanKind.CLIENT
        trace_id, span_id = request.headers["traceparent"].split("-")[1:3]
        assert (trace_id, span_id) == (f"{client.context.trace_id:032x}", f"{client.context.span_id:016x}")
        assert client.attributes is not None  # and no URL among them: Z-API's token is in its path
        assert dict(client.attributes) == {
            "http.request.method": "POST", "server.address": "127.0.0.1", "http.response.status_code": 200,
        }  # fmt: skip
        deliver = next(span for span in spans.get_finished_spans() if span.name == "notify.deliver")
        assert client.parent is not None and client.parent.span_id == deliver.context.span_id

    async def test_a_failed_send_marks_its_span(self, tenancy, fake, notify_stack, spans):
        tenant_id, channel = await setup(tenancy, "meta")
        fake.queue(meta_path(channel), fp.status(503))
        async with notify_stack(backoff_base_seconds=60, backoff_cap_seconds=60) as s:
            await s.stub.SendMessage(send(tenant_id, channel.id, phone(), wait=True))
        [client] = [span for span in spans.get_finished_spans() if span.name == "POST meta"]
        assert client.attributes is not None
        assert client.attributes["http.response.status_code"] == 503
        assert client.attributes["error.type"] == "503" and not client.status.is_ok
