"""Domain errors that carry their gRPC status, and the one gRPC→HTTP table."""

from __future__ import annotations

import uuid

import grpc


class DomainError(Exception):
    """A failure the caller can act on; `code` is what the gRPC client sees."""

    code: grpc.StatusCode = grpc.StatusCode.FAILED_PRECONDITION

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(DomainError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(DomainError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(DomainError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(DomainError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class PermissionDenied(DomainError):
    code = grpc.StatusCode.PERMISSION_DENIED


class Unauthenticated(DomainError):
    code = grpc.StatusCode.UNAUTHENTICATED


class ResourceExhausted(DomainError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(DomainError):
    code = grpc.StatusCode.UNAVAILABLE


class MissingField(InvalidArgument):
    def __init__(self, field: str) -> None:
        super().__init__(f"{field} is required")


class NotAUuid(InvalidArgument):
    def __init__(self, field: str, value: str) -> None:
        super().__init__(f"{field} {value!r} is not a UUID")


def parse_id(value: str, field: str) -> uuid.UUID:
    """A UUID from a request field, or INVALID_ARGUMENT naming the field."""
    if not value:
        raise MissingField(field)
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError):
        raise NotAUuid(field, value) from None


GRPC_TO_HTTP: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}


def http_status(code: grpc.StatusCode) -> int:
    """The HTTP status the gateway answers for a gRPC status; unknown ones are 500."""
    return GRPC_TO_HTTP.get(code, 500)


def error_slug(code: grpc.StatusCode) -> str:
    """A stable, lower-case error code for response bodies (``not_found``)."""
    return str(code.name).lower()
