"""Login, refresh-token rotation and the gateway's per-request principal check.

Access tokens are short-lived JWTs minted by the gateway; this module owns what must be shared and
revocable: the refresh tokens (only their SHA-256 is stored), the failure counters and token_version.
Failures that must be remembered (a failed login, a reused refresh token) are returned, not raised,
so the caller commits them before answering with the error.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from kit.errors import DomainError
from tenant import audit, domain, errors
from tenant.models import RefreshToken, User
from tenant.passwords import verify_password
from tenant.repository import LoginFailureRepository, RefreshTokenRepository, TenantRepository, UserRepository


@dataclass(frozen=True)
class AuthPolicy:
    refresh_ttl: timedelta
    max_failures: int
    failure_window: timedelta


@dataclass
class Session:
    """What a successful login or refresh hands back."""

    user: User
    refresh_token: str
    refresh_expires_at: datetime


@dataclass
class Outcome:
    session: Session | None = None
    error: DomainError | None = None


def now() -> datetime:
    return datetime.now(UTC)


async def login(
    db: AsyncSession, policy: AuthPolicy, *, email: str, password: str, source_ip: str
) -> Outcome:
    email = domain.normalise_email(email)
    failures = LoginFailureRepository(db)
    count, oldest = await failures.recent(email, source_ip, now() - policy.failure_window)
    if count >= policy.max_failures and oldest is not None:
        retry = math.ceil((oldest + policy.failure_window - now()).total_seconds())
        return Outcome(error=errors.TooManyLoginFailures(max(retry, 1)))
    user = await UserRepository(db).by_email(email) if email else None
    # Verify even for an unknown email, so both answers take the same time.
    ok = await verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.active or not await _tenant_active(db, user):
        await failures.add(email, source_ip)
        await audit.record(
            db,
            "auth.login_failed",
            tenant_id=user.tenant_id if user else None,
            actor=user,
            target_type="user",
            target_id=user.id if user else "",
            details={"email": email},
            source_ip=source_ip,
        )
        return Outcome(error=errors.InvalidCredentials())
    await failures.clear(email, source_ip, now() - policy.failure_window)
    user.last_login_at = now()
    await audit.record(
        db,
        "auth.login",
        tenant_id=user.tenant_id,
        actor=user,
        target_type="user",
        target_id=user.id,
        source_ip=source_ip,
    )
    return Outcome(session=await _issue(db, policy, user, uuid.uuid4()))


async def refresh(db: AsyncSession, policy: AuthPolicy, *, refresh_token: str) -> Outcome:
    tokens = RefreshTokenRepository(db)
    token = await tokens.by_hash(domain.token_hash(refresh_token)) if refresh_token else None
    if token is None:
        return Outcome(error=errors.InvalidRefreshToken())
    if token.revoked_at is not None:
        # A rotated-out token came back: it was stolen or replayed. Kill the whole chain.
        await tokens.revoke_family(token.family_id, now())
        await audit.record(
            db,
            "auth.refresh_reuse",
            tenant_id=token.tenant_id,
            target_type="user",
            target_id=token.user_id,
            details={"family_id": str(token.family_id)},
        )
        return Outcome(error=errors.InvalidRefreshToken())
    user = await UserRepository(db).get(token.user_id, token.tenant_id)
    if token.expires_at <= now() or user is None or not user.active or not await _tenant_active(db, user):
        return Outcome(error=errors.InvalidRefreshToken())
    token.revoked_at = now()
    return Outcome(session=await _issue(db, policy, user, token.family_id))


async def logout(db: AsyncSession, *, refresh_token: str) -> None:
    """Ends the refresh chain; idempotent, and silent about tokens it does not know."""
    tokens = RefreshTokenRepository(db)
    token = await tokens.by_hash(domain.token_hash(refresh_token)) if refresh_token else None
    if token is not None:
        await tokens.revoke_family(token.family_id, now())


async def get_principal(db: AsyncSession, *, user_id: str, token_version: int) -> User:
    try:
        uid = uuid.UUID(user_id)
    except ValueError:
        raise errors.PrincipalRejected("unknown user") from None
    user = await UserRepository(db).get(uid, None)
    if user is None or not user.active:
        raise errors.PrincipalRejected("user is inactive")
    if user.token_version != token_version:
        raise errors.PrincipalRejected("token was revoked")
    if not await _tenant_active(db, user):
        raise errors.PrincipalRejected("tenant is suspended")
    return user


async def _tenant_active(db: AsyncSession, user: User) -> bool:
    tenant = await TenantRepository(db).get(user.tenant_id)
    return tenant is not None and tenant.status == "active"


async def _issue(db: AsyncSession, policy: AuthPolicy, user: User, family_id: uuid.UUID) -> Session:
    raw = domain.new_refresh_token()
    expires = now() + policy.refresh_ttl
    await RefreshTokenRepository(db).add(
        RefreshToken(
            user_id=user.id,
            tenant_id=user.tenant_id,
            token_hash=domain.token_hash(raw),
            family_id=family_id,
            expires_at=expires,
        )
    )
    return Session(user=user, refresh_token=raw, refresh_expires_at=expires)
