"""One error shape for every response: {"error": {"code", "message", "details"?, "request_id"}}."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class Problem:
    """What an exception answers: the status and the body's error object (and extra headers)."""

    status: int
    code: str
    message: str
    details: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def body(self, request_id: str | None) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        if request_id:
            error["request_id"] = request_id
        return {"error": error}


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


def problem_of(exc: Exception, where: str) -> Problem:
    """The answer to any exception a request raised; `where` ("POST /path") names it in the log."""
    if isinstance(exc, RequestValidationError):
        details = [
            {"field": _field(tuple(e.get("loc", ()))), "problem": str(e.get("msg", "invalid"))}
            for e in exc.errors()
        ]
        summary = "; ".join(f"{d['field']}: {d['problem']}" for d in details)
        return Problem(422, "invalid_argument", summary or "invalid request", details)
    if isinstance(exc, StarletteHTTPException):
        code = HTTP_CODES.get(exc.status_code, "error")
        return Problem(exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {}))
    if isinstance(exc, grpc.aio.AioRpcError):
        status_code = exc.code()
        status = http_status(status_code)
        if status >= 500:
            log.warning("upstream %s: %s", status_code.name, exc.details())
        message = exc.details() or status_code.name.lower()
        if status_code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            message = "a backend service is unavailable, try again shortly"
        elif status == 500:
            message = "internal error"
        return Problem(status, error_slug(status_code), message)
    log.error("unhandled error on %s", where, exc_info=exc)
    return Problem(500, "internal", "internal error")


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    problem = problem_of(exc, f"{request.method} {request.url.path}")
    response = JSONResponse(
        problem.body(getattr(request.state, "request_id", None)), status_code=problem.status
    )
    for key, value in problem.headers.items():
        response.headers[key] = value
    return response


def install(app: FastAPI) -> None:
    for kind in (RequestValidationError, StarletteHTTPException, grpc.aio.AioRpcError, Exception):
        app.add_exception_handler(kind, _handle)
