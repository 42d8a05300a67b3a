"""The gateway's HTTP server settings over real sockets: keep-alive answers, streamed answers and
connection close all arrive whole through the coalescing transport, and X-Forwarded-For is not
believed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn

from gateway.httpserver import config


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "http"
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["path"] == "/stream":
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
        )
        for n in range(3):
            await send({"type": "http.response.body", "body": f"chunk {n}\n".encode(), "more_body": True})
            await asyncio.sleep(0.05)
        await send({"type": "http.response.body", "body": b"end\n"})
        return
    client = scope["client"][0] if scope.get("client") else ""
    answer = f"{scope['path']} {len(body)} {client}".encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(answer)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": answer})


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    server = uvicorn.Server(config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def test_many_answers_on_one_kept_alive_connection(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, limits=httpx.Limits(max_connections=1)) as http:
        bodies = [b"x" * n for n in (0, 1, 70_000, 3)]
        answers = [await http.post(f"/r{n}", content=body) for n, body in enumerate(bodies)]
    assert [a.status_code for a in answers] == [200] * 4
    assert [a.text.split()[:2] for a in answers] == [[f"/r{n}", str(len(b))] for n, b in enumerate(bodies)]


async def test_a_streamed_answer_arrives_chunk_by_chunk(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as http, http.stream("GET", "/stream") as answer:
        seen = []
        async for line in answer.aiter_lines():
            seen.append((line, asyncio.get_running_loop().time()))
    assert [line for line, _ in seen] == ["chunk 0", "chunk 1", "chunk 2", "end"]
    assert seen[-1][1] - seen[0][1] >= 0.1  # each chunk left when written, not all at the end


async def test_connection_close_still_gets_the_whole_answer(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as http:
        answer = await http.post("/bye", content=b"abc", headers={"Connection": "close"})
    assert (answer.status_code, answer.text.split()[:2]) == (200, ["/bye", "3"])


async def test_x_forwarded_for_is_not_believed(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as http:
        answer = await http.post("/who", headers={"X-Forwarded-For": "203.0.113.9"})
    assert answer.text.split()[2] == "127.0.0.1"


async def test_a_malformed_request_still_gets_its_400_before_the_close(base_url: str) -> None:
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"NOT HTTP AT ALL\r\n\r\n")
    answer = await asyncio.wait_for(reader.read(), timeout=5)  # until the server closes
    writer.close()
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert answer.endswith(b"Invalid HTTP request received.")
