from __future__ import annotations

import grpc

from kit.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unauthenticated,
)


class TenantNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("tenant not found")


class SlugTaken(AlreadyExists):
    def __init__(self, slug: str) -> None:
        super().__init__(f"slug {slug!r} is already in use")


class InvalidSlug(InvalidArgument):
    def __init__(self, slug: str) -> None:
        super().__init__(
            f"slug {slug!r} is invalid: use lower-case letters and digits separated by single hyphens"
        )


class UnknownNiche(InvalidArgument):
    def __init__(self, niche_id: int) -> None:
        super().__init__(f"niche_id {niche_id} does not exist")


class ChannelNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no active channel matches this provider identity or token")


class TenantLimitReached(ResourceExhausted):
    def __init__(self, hard: int) -> None:
        super().__init__(f"the platform's hard limit of {hard} tenants is reached")


class UserNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("user not found")


class EmailTaken(AlreadyExists):
    def __init__(self, email: str) -> None:
        super().__init__(f"email {email!r} is already in use")


class InvalidCredentials(Unauthenticated):
    """The same answer for an unknown email, a wrong password and an inactive account."""

    def __init__(self) -> None:
        super().__init__("invalid email or password")


class InvalidRefreshToken(Unauthenticated):
    def __init__(self) -> None:
        super().__init__("refresh token is invalid, expired or revoked")


class PrincipalRejected(Unauthenticated):
    def __init__(self, reason: str) -> None:
        super().__init__(f"access token no longer valid: {reason}")


class TooManyLoginFailures(ResourceExhausted):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; retry after {retry_after} seconds")
        self.retry_after = retry_after


class LastActiveAdmin(DomainError):
    # ABORTED is what the gateway answers as 409 Conflict: the request clashes with current state.
    code = grpc.StatusCode.ABORTED

    def __init__(self) -> None:
        super().__init__("cannot remove the last active admin of a tenant: promote another user first")


class OwnTenant(FailedPrecondition):
    def __init__(self) -> None:
        super().__init__("you cannot suspend your own tenant")
