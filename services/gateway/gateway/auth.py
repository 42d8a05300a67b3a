"""Access tokens (short-lived HS256 JWTs minted and verified here) and the role dependency.

Every authenticated request verifies the JWT and then asks the tenant service (GetPrincipal) whether
the user is still active, its tenant still active and its token_version current, so deactivation,
role changes and suspension take effect at once. That answer is cached in-process for at most
PRINCIPAL_CACHE_SECONDS (2 s): "at once" means within two seconds on each gateway replica.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import grpc
import jwt
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kit.config import CommonSettings, derive_secret
from kit.context import CallContext
from vellarys.tenant.v1 import tenant_pb2 as pb

ACCESS_TOKEN_SECONDS = 15 * 60
PRINCIPAL_CACHE_SECONDS = 2.0
ALGORITHM = "HS256"
ROLE_NAMES = {
    pb.ROLE_SUPERADMIN: "superadmin",
    pb.ROLE_ADMIN: "admin",
    pb.ROLE_SELLER: "seller",
    pb.ROLE_VIEWER: "viewer",
}
ANY_ROLE = ("superadmin", "admin", "seller", "viewer")

bearer = HTTPBearer(auto_error=False, description="The access_token from /api/v1/auth/login")


@dataclass(frozen=True)
class Principal:
    user_id: str
    tenant_id: str
    role: str
    email: str
    token_version: int = 0
    request_id: str = ""

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """Pass on every gRPC call: the tenant service re-checks role and tenant from it."""
        ctx = CallContext(
            tenant_id=self.tenant_id, actor_id=self.user_id, role=self.role, request_id=self.request_id
        )
        return ctx.metadata()


class Tokens:
    def __init__(self, settings: CommonSettings) -> None:
        self._key = derive_secret(settings.secret_key, "jwt")

    def mint(self, user: pb.User) -> str:
        now = int(time.time())
        claims = {
            "sub": user.id,
            "tid": user.tenant_id,
            "role": ROLE_NAMES.get(user.role, ""),
            "ver": user.token_version,
            "iat": now,
            "exp": now + ACCESS_TOKEN_SECONDS,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def verify(self, token: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                options={"require": ["sub", "tid", "role", "ver", "exp"]},
            )
        except jwt.ExpiredSignatureError:
            raise unauthenticated("access token expired") from None
        except jwt.InvalidTokenError:
            raise unauthenticated("access token is invalid") from None
        return claims


class PrincipalCache:
    """(user, token_version) → Principal for a couple of seconds, to spare the tenant service."""

    def __init__(self, ttl: float = PRINCIPAL_CACHE_SECONDS) -> None:
        self.ttl = ttl
        self._items: dict[tuple[str, int], tuple[float, Principal]] = {}

    def get(self, key: tuple[str, int]) -> Principal | None:
        hit = self._items.get(key)
        if hit is None or hit[0] < time.monotonic():
            self._items.pop(key, None)
            return None
        return hit[1]

    def forget(self, *, user_id: str = "", tenant_id: str = "") -> None:
        """Drop entries this replica knows are stale (it just deactivated a user, suspended a tenant)."""
        for key, (_, p) in list(self._items.items()):
            if p.user_id == user_id or p.tenant_id == tenant_id:
                self._items.pop(key, None)

    def put(self, key: tuple[str, int], principal: Principal) -> None:
        if len(self._items) > 10_000:
            self._items.clear()
        self._items[key] = (time.monotonic() + self.ttl, principal)


def unauthenticated(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def source_ip(request: Request) -> str:
    # Behind a proxy this is the proxy's address; X-Forwarded-For is not trusted (no TRUSTED_PROXIES yet).
    return request.client.host if request.client else ""


async def _principal(request: Request, token: str) -> Principal:
    claims = request.app.state.tokens.verify(token)
    key = (str(claims["sub"]), int(claims["ver"]))
    cache: PrincipalCache = request.app.state.principals
    principal = cache.get(key)
    if principal is None:
        try:
            reply = await request.app.state.clients.tenant.GetPrincipal(
                pb.GetPrincipalRequest(user_id=key[0], token_version=key[1]),
                metadata=CallContext(request_id=request.state.request_id).metadata(),
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.UNAUTHENTICATED:
                raise unauthenticated(error.details() or "access token no longer valid") from None
            raise
        user = reply.user
        role = ROLE_NAMES.get(user.role, "")
        principal = Principal(user.id, user.tenant_id, role, user.email, user.token_version)
        cache.put(key, principal)
    return replace(principal, request_id=request.state.request_id)


def require_roles(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency: 401 without a valid token or for a blocked user/tenant, 403 for other roles."""
    allowed = set(roles or ANY_ROLE)

    async def dependency(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
    ) -> Principal:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise unauthenticated("missing bearer token")
        principal = await _principal(request, credentials.credentials)
        if principal.role not in allowed:
            raise HTTPException(403, f"role {principal.role!r} may not do this")
        return principal

    return dependency
