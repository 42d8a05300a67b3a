"""The webhook POSTs as plain ASGI, in front of FastAPI's stack.

Nearly all of the gateway's traffic is provider webhooks, and FastAPI's layers around a route (its
telemetry wrapper, Starlette's error and exception middleware, routing, the request object, the
response class and five `send` wrappers) cost about as much CPU per webhook as the webhook's own
work. Here one coroutine does what those layers did for these two routes, and nothing else:

- the request id (the caller's `X-Request-ID` or a new one), echoed in the answer and in errors;
- the call context, the HTTP metrics (`kit.metrics`, labelled with the route template);
- one SERVER span named after the route template, continuing an incoming `traceparent`, with the
  channel's URL token never in it;
- the body cap (1 MiB), the path checks and every error in the gateway's one error shape
  (`gateway.errors.problem_of`), an unexpected exception included (logged, answered 500).

The work itself is `routes.webhooks.receive_webhook`, the same function the declared FastAPI routes
call, so the two paths cannot drift. `gateway.app.GatewayApp` sends here what `route_of` picks (a POST
under /api/v1/webhook/ with one or two path segments); everything else goes through FastAPI.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import Receive, Scope, Send

from gateway.errors import problem_of
from gateway.middleware import record, request_id_of
from gateway.routes.webhooks import ClientGone, check_route, read_body, receive_webhook
from kit import context as callctx

PREFIX = "/api/v1/webhook/"
ROUTES = (PREFIX + "{provider}", PREFIX + "{provider}/{token}")
tracer = trace.get_tracer("gateway.webhooks")


def route_of(scope: Scope) -> tuple[str, str | None] | None:
    """(provider, token or None) when the request is one the fast path serves."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    path: str = scope["path"]
    if not path.startswith(PREFIX):
        return None
    parts = path[len(PREFIX) :].split("/")
    if len(parts) > 2 or "" in parts:
        return None  # not a webhook route: FastAPI answers (404, or its trailing-slash redirect)
    return parts[0], parts[1] if len(parts) == 2 else None


def _headers(scope: Scope) -> dict[str, str]:
    # Repeated headers keep their last value; none the webhooks read may be repeated meaningfully.
    return {key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]}


async def serve(
    app: Any, scope: Scope, receive: Receive, send: Send, provider: str, token: str | None
) -> None:
    """Answer one webhook POST; `app` is the FastAPI app (its state holds the ingress)."""
    started = time.perf_counter()
    headers = _headers(scope)
    request_id = request_id_of(headers.get("x-request-id"))
    route = ROUTES[0] if token is None else ROUTES[1]
    # The token is the channel's secret: the span records the template in its place.
    path = PREFIX + provider if token is None else f"{PREFIX}{provider}/{{token}}"
    parent = propagate.extract(headers) if "traceparent" in headers else None
    span = tracer.start_span(
        f"POST {route}",
        context=parent,
        kind=SpanKind.SERVER,
        attributes={
            "http.request.method": "POST",
            "url.scheme": scope.get("scheme", "http"),
            "url.path": path,
            "http.route": route,
        },
    )
    span_token = otel_context.attach(trace.set_span_in_context(span, parent))
    call_token = callctx.current.set(callctx.CallContext(request_id=request_id))
    status = 500
    try:
        try:
            check_route(provider, token)
            body = await read_body(headers, receive)
            answer = await receive_webhook(
                app.state.ingress, provider, token, body, headers.get("content-type", ""), headers
            )
            status, content, extra = 200, orjson.dumps(answer), {}
        except ClientGone:
            status = 499  # recorded as such; nothing can be sent
            return
        except Exception as error:
            problem = problem_of(error, f"POST {path}")
            status, content, extra = problem.status, orjson.dumps(problem.body(request_id)), problem.headers
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR))
        response_headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(content)).encode()),
            (b"x-request-id", request_id.encode()),
            *((key.lower().encode(), value.encode()) for key, value in extra.items()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": content})
    finally:
        span.set_attribute("http.response.status_code", status)
        span.end()
        callctx.current.reset(call_token)
        otel_context.detach(span_token)
        record(route, "POST", status, started)
