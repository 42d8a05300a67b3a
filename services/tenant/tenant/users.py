"""User management use cases. `scope` is the tenant the caller may touch (None: any, superadmin)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from kit.errors import PermissionDenied
from tenant import audit, domain, errors
from tenant.auth import now
from tenant.models import User
from tenant.passwords import hash_password
from tenant.repository import RefreshTokenRepository, TenantRepository, UserRepository


@dataclass(frozen=True)
class UserChanges:
    name: str | None = None
    role: str | None = None
    phone: str | None = None
    active: bool | None = None


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise errors.InvalidArgument("name must have 1 to 200 characters")
    return name


def _check_role(role: str, caller_role: str) -> str:
    if role not in domain.ROLES:
        raise errors.InvalidArgument(f"role must be one of {', '.join(domain.ROLES)}")
    if role == "superadmin" and caller_role != "superadmin":
        raise PermissionDenied("only the superadmin may grant the superadmin role")
    return role


def _check_phone(phone: str) -> str:
    phone = phone.strip()
    if not domain.valid_phone(phone):
        raise errors.InvalidArgument("phone must be in E.164 format, e.g. +5541999998888")
    return phone


async def _password(password: str) -> tuple[str, str]:
    """(hash, temporary password to hand back once, or '' when the caller chose it)."""
    temporary = "" if password else domain.new_password()
    problem = domain.password_problem(password or temporary)
    if problem:
        raise errors.InvalidArgument(problem)
    return await hash_password(password or temporary), temporary


async def create_user(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    email: str,
    name: str,
    role: str,
    password: str,
    phone: str,
    caller_role: str,
    source_ip: str = "",
) -> tuple[User, str]:
    email = domain.normalise_email(email)
    if not domain.valid_email(email):
        raise errors.InvalidArgument(f"email {email!r} is not a valid address")
    user = User(
        tenant_id=tenant_id,
        email=email,
        name=_check_name(name),
        role=_check_role(role, caller_role),
        phone=_check_phone(phone),
        active=True,
        token_version=1,
    )
    if await TenantRepository(session).get(tenant_id) is None:
        raise errors.TenantNotFound()
    user.password_hash, temporary = await _password(password)
    if not await UserRepository(session).add(user):
        raise errors.EmailTaken(email)
    await audit.record(
        session,
        "user.create",
        tenant_id=tenant_id,
        target_type="user",
        target_id=user.id,
        details={"email": email, "role": role},
        source_ip=source_ip,
    )
    return user, temporary


async def get_user(session: AsyncSession, user_id: str, scope: uuid.UUID | None) -> User:
    user = await UserRepository(session).get(_id(user_id), scope)
    if user is None:
        raise errors.UserNotFound()
    return user


async def list_users(
    session: AsyncSession, tenant_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[User], int]:
    return await UserRepository(session).page(tenant_id, max(1, min(limit or 50, 200)), max(offset, 0))


async def update_user(
    session: AsyncSession,
    user_id: str,
    scope: uuid.UUID | None,
    changes: UserChanges,
    *,
    caller_role: str,
    source_ip: str = "",
) -> User:
    users = UserRepository(session)
    user = await users.get(_id(user_id), scope, for_update=True)
    if user is None:
        raise errors.UserNotFound()
    if user.role == "superadmin" and caller_role != "superadmin":
        raise errors.UserNotFound()
    new_role = _check_role(changes.role, caller_role) if changes.role else user.role
    new_active = user.active if changes.active is None else changes.active
    still_admin = new_active and new_role in domain.ADMIN_ROLES
    if user.active and user.role in domain.ADMIN_ROLES and not still_admin:
        await _keep_an_admin(session, user)
    diff = _apply(user, changes, new_role, new_active)
    if "role" in diff or "active" in diff:
        await _revoke_sessions(session, user)
    if diff:
        action = "user.deactivate" if diff.get("active") is False else "user.update"
        if "role" in diff:
            action = "user.role_change" if action == "user.update" else action
        await audit.record(
            session,
            action,
            tenant_id=user.tenant_id,
            target_type="user",
            target_id=user.id,
            details=diff,
            source_ip=source_ip,
        )
    return user


def _apply(user: User, changes: UserChanges, role: str, active: bool) -> dict[str, object]:
    diff: dict[str, object] = {}
    fields: dict[str, object] = {"role": role, "active": active}
    if changes.name is not None:
        fields["name"] = _check_name(changes.name)
    if changes.phone is not None:
        fields["phone"] = _check_phone(changes.phone)
    for field, value in fields.items():
        if getattr(user, field) != value:
            diff[field] = value
            setattr(user, field, value)
    return diff


async def reset_password(
    session: AsyncSession, user_id: str, scope: uuid.UUID | None, password: str, *, source_ip: str = ""
) -> tuple[User, str]:
    user = await UserRepository(session).get(_id(user_id), scope, for_update=True)
    if user is None:
        raise errors.UserNotFound()
    user.password_hash, temporary = await _password(password)
    await _revoke_sessions(session, user)
    await audit.record(
        session,
        "user.password_reset",
        tenant_id=user.tenant_id,
        target_type="user",
        target_id=user.id,
        details={"generated": bool(temporary)},
        source_ip=source_ip,
    )
    return user, temporary


async def _keep_an_admin(session: AsyncSession, user: User) -> None:
    admins = await UserRepository(session).lock_active_admins(user.tenant_id, domain.ADMIN_ROLES)
    if [a for a in admins if a != user.id] == []:
        raise errors.LastActiveAdmin()


async def _revoke_sessions(session: AsyncSession, user: User) -> None:
    """Old access tokens stop at the gateway's next principal check; refresh chains end now."""
    user.token_version += 1
    await RefreshTokenRepository(session).revoke_user(user.tenant_id, user.id, now())


def _id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError):
        raise errors.InvalidArgument(f"user_id {value!r} is not a UUID") from None
