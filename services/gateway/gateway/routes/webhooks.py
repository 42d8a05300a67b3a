"""Provider webhooks: POST /api/v1/webhook/{provider}[/{token}] and Meta's GET handshake.

The served app answers the POSTs in gateway/fastpath.py, in front of FastAPI's stack (nearly all
traffic is webhooks, and that stack was half the gateway's CPU per webhook); the routes below declare
them for OpenAPI and answer identically through the same `receive_webhook` when they are reached.

Bad input gets a clear 4xx and writes nothing; an authentic payload is answered 200 once what it
carries is committed — even when we could not parse all of it (a non-2xx makes providers retry for
days), in which case the parts we could not use are listed in `ignored`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

import grpc
import orjson
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.types import Receive

from gateway.batcher import ItemFailed
from gateway.ingress import WEBHOOKS, Ingress, Rejected
from gateway.providers import PARSERS, canonical, signatures
from kit.metrics import child

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
TOO_LARGE = f"webhook body larger than {MAX_BODY} bytes"
RETRY = {"Retry-After": "5"}
ProviderName = Literal["zapi", "dialog360", "gupshup", "meta"]
PROVIDERS: tuple[str, ...] = get_args(ProviderName)
URL_KEY_SHAPE = r"^[A-Za-z0-9_\-]{16,128}$"  # what a channel's URL token looks like
TokenPath = Annotated[str, Path(min_length=16, max_length=128, pattern=URL_KEY_SHAPE)]
_TOKEN = re.compile(URL_KEY_SHAPE)


class OrjsonResponse(JSONResponse):
    """The same JSON, rendered by orjson (the stdlib encoder showed in the webhook profile)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


router = APIRouter(prefix="/api/v1/webhook", tags=["webhooks"])


class ClientGone(Exception):
    """The client closed the connection before sending the whole body: nobody to answer."""


async def read_body(headers: Mapping[str, str], receive: Receive) -> bytes:
    """The body from ASGI `receive`, refused with 413 past MAX_BODY (declared or streamed) after
    reading at most MAX_BODY plus one chunk. `headers` has lower-case names."""
    declared = headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise HTTPException(413, TOO_LARGE)
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise HTTPException(413, TOO_LARGE)
        chunks.append(chunk)
        more = message.get("more_body", False)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def check_route(provider: str, token: str | None) -> None:
    """The path parameters' checks, with FastAPI's 422 wording (the fast path does not validate)."""
    if provider not in PROVIDERS:
        message = f"Input should be {', '.join(repr(p) for p in PROVIDERS)}"
        raise RequestValidationError([{"loc": ("path", "provider"), "msg": message, "type": "literal_error"}])
    if token is not None and not _TOKEN.match(token):
        message = f"String should match pattern '{URL_KEY_SHAPE}'"
        raise RequestValidationError(
            [{"loc": ("path", "token"), "msg": message, "type": "string_pattern_mismatch"}]
        )


def _payload(content_type: str, body: bytes) -> dict[str, Any]:
    content_type = content_type.split(";")[0].strip().lower()
    if content_type != "application/json":
        raise HTTPException(
            415, f"webhooks must be application/json, got {content_type or 'no content type'}"
        )
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise HTTPException(400, f"malformed JSON: {error}") from None
    if not isinstance(payload, dict):
        raise HTTPException(400, "the webhook body must be a JSON object")
    return payload


async def receive_webhook(
    ingress: Ingress,
    provider: str,
    token: str | None,
    body: bytes,
    content_type: str,
    headers: Mapping[str, str],
) -> dict[str, Any]:
    """One webhook, start to end: the 200 answer's body, or HTTPException with the 4xx/503."""
    payload = _payload(content_type, body)
    if canonical.connectivity_test(payload) is not None:
        WEBHOOKS.labels(provider, "test").inc()
        return {"status": "ok", "test": True}
    result = PARSERS[provider](payload, None)
    try:
        channels = await ingress.authenticate(provider, token, result, body, headers)
    except Rejected as rejected:
        WEBHOOKS.labels(provider, "rejected").inc()
        raise HTTPException(rejected.status, rejected.message) from None
    try:
        outcome = await ingress.store(result, channels)
    except ItemFailed as failed:
        if failed.code == grpc.StatusCode.INVALID_ARGUMENT:
            WEBHOOKS.labels(provider, "invalid").inc()
            raise HTTPException(400, f"message refused: {failed.message}") from None
        WEBHOOKS.labels(provider, "unavailable").inc()
        log.warning("webhook not stored (%s): the provider will retry", failed.code.name)
        raise HTTPException(503, "storage is unavailable: retry later", headers=RETRY) from None
    except grpc.aio.AioRpcError as error:
        WEBHOOKS.labels(provider, "unavailable").inc()
        log.warning("webhook not stored (%s): the provider will retry", error.code().name)
        raise HTTPException(503, "storage is unavailable: retry later", headers=RETRY) from None
    if outcome.ignored:
        log.info("webhook parts not used: %s", "; ".join(outcome.ignored))
    child(WEBHOOKS, provider, "ok").inc()
    return outcome.body()


async def _receive(provider: str, token: str | None, request: Request) -> Response:
    try:
        body = await read_body(request.headers, request.receive)
    except ClientGone:
        return Response(status_code=499)  # nobody is there to read it
    content_type = request.headers.get("content-type", "")
    answer = await receive_webhook(
        request.app.state.ingress, provider, token, body, content_type, request.headers
    )
    return OrjsonResponse(answer)


_responses: dict[int | str, dict[str, Any]] = {
    400: {"description": "malformed JSON or not an object"},
    401: {"description": "unauthenticated: bad signature, token or secret header"},
    403: {"description": "no channel is configured for this business number"},
    413: {"description": "body over 1 MiB"},
    415: {"description": "not application/json"},
    503: {"description": "storage unavailable; the provider should retry"},
}


@router.post(
    "/{provider}", responses=_responses, summary="Receive a provider webhook (signed or header-authenticated)"
)
async def receive(provider: ProviderName, request: Request) -> Response:
    return await _receive(provider, None, request)


@router.post(
    "/{provider}/{token}", responses=_responses, summary="Receive a webhook on a channel's secret URL"
)
async def receive_with_token(provider: ProviderName, token: TokenPath, request: Request) -> Response:
    return await _receive(provider, token, request)


async def _handshake(request: Request, token: str, *, bare: bool) -> PlainTextResponse:
    ingress: Ingress = request.app.state.ingress
    channel = await ingress.resolve("meta", token=token)
    if channel is None:
        raise HTTPException(403, "verification refused")
    # On the bare URL the verify token *is* the channel's webhook token (that is how we found the
    # channel); on the channel's own URL it is the verify token configured on the channel.
    expected = token if bare else channel.verification.get("verify_token") or token
    challenge = signatures.meta_handshake(dict(request.query_params), expected)
    if challenge is None:
        raise HTTPException(403, "verification refused")
    return PlainTextResponse(challenge)


@router.get("/meta", summary="Meta's subscription handshake (verify token = the channel's webhook token)")
async def meta_handshake(
    request: Request,
    verify_token: Annotated[str, Query(alias="hub.verify_token", min_length=1, max_length=256)],
) -> PlainTextResponse:
    return await _handshake(request, verify_token, bare=True)


@router.get("/meta/{token}", summary="Meta's subscription handshake on a channel's secret URL")
async def meta_handshake_with_token(request: Request, token: TokenPath) -> PlainTextResponse:
    return await _handshake(request, token, bare=False)
