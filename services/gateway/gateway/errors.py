"""One error shape for every response: {"error": {"code", "message", "details"?, "request_id"}}."""

from __future__ import annotations

import logging
from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from kit.errors import error_slug, http_status

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_argument",
    429: "rate_limited",
    503: "unavailable",
}


def error_body(status: int, code: str, message: str, request: Request, details: Any = None) -> JSONResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        error["request_id"] = request_id
    return JSONResponse({"error": error}, status_code=status)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"field": _field(tuple(e.get("loc", ()))), "problem": str(e.get("msg", "invalid"))}
        for e in exc.errors()
    ]
    summary = "; ".join(f"{d['field']}: {d['problem']}" for d in details)
    return error_body(422, "invalid_argument", summary or "invalid request", request, details)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "error")
    response = error_body(exc.status_code, code, str(exc.detail), request)
    for key, value in (exc.headers or {}).items():
        response.headers[key] = value
    return response


async def _grpc(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, grpc.aio.AioRpcError)
    status_code = exc.code()
    status = http_status(status_code)
    if status >= 500:
        log.warning("upstream %s: %s", status_code.name, exc.details())
    message = exc.details() or status_code.name.lower()
    if status_code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        message = "a backend service is unavailable, try again shortly"
    elif status == 500:
        message = "internal error"
    return error_body(status, error_slug(status_code), message, request)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_body(500, "internal", "internal error", request)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(grpc.aio.AioRpcError, _grpc)
    app.add_exception_handler(Exception, _unexpected)
