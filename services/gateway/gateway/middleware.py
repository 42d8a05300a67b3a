"""Pure ASGI middleware (Starlette's BaseHTTPMiddleware costs a task and a stream per request):
request id, HTTP metrics, and the body-size cap of the small JSON endpoints."""

from __future__ import annotations

import os
import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kit import context as callctx
from kit import metrics

SMALL_BODY_PREFIXES = ("/api/v1/auth", "/api/v1/admin", "/api/v1/users", "/api/v1/audit", "/api/v1/niches")
SMALL_BODY_BYTES = 16 * 1024
WRITES = {"POST", "PUT", "PATCH"}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def request_id_of(given: str | None) -> str:
    """The caller's X-Request-ID (at most 64 characters), or a new one."""
    return (given or os.urandom(16).hex())[:64]  # uuid4().hex's form, without building a UUID


def record(route: str, method: str, status: int, started: float) -> None:
    """The HTTP metrics of one answered request (`started`: its time.perf_counter())."""
    metrics.child(metrics.HTTP_SECONDS, route, method).observe(time.perf_counter() - started)
    metrics.child(metrics.HTTP_REQUESTS, route, method, str(status)).inc()


def _too_large(request_id: str) -> tuple[Message, Message]:
    body = orjson.dumps(
        {
            "error": {
                "code": "payload_too_large",
                "message": f"request body larger than {SMALL_BODY_BYTES} bytes",
                "request_id": request_id,
            }
        }
    )
    start = {
        "type": "http.response.start",
        "status": 413,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    }
    return start, {"type": "http.response.body", "body": body}


class GatewayMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(_header(scope, b"x-request-id"))
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        token = callctx.current.set(callctx.CallContext(request_id=request_id))
        try:
            if scope["method"] in WRITES and scope["path"].startswith(SMALL_BODY_PREFIXES):
                receive = await self._capped(scope, receive, send_with_id, request_id)
                if receive is None:
                    return
            await self.app(scope, receive, send_with_id)
        finally:
            callctx.current.reset(token)
            record(getattr(scope.get("route"), "path", None) or "unmatched", scope["method"], status, started)

    @staticmethod
    async def _capped(scope: Scope, receive: Receive, send: Send, request_id: str) -> Any:
        """The request's receive, or None after answering 413 (read at most the cap + 1 bytes)."""
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > SMALL_BODY_BYTES):
            for message in _too_large(request_id):
                await send(message)
            return None
        if declared is not None:
            return receive
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > SMALL_BODY_BYTES:
                for reply in _too_large(request_id):
                    await send(reply)
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        buffered = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": buffered, "more_body": False}

        return replay
