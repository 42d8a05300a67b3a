"""Who may call what, from the call context (the gateway forwards the dashboard user's role).

- no role or "service": internal calls (conversation, the gateway's webhook path); they act on the tenant
  in the request. Sending, statuses and user notifications are internal only.
- superadmin: any tenant. admin: its own tenant (another tenant is NOT_FOUND, so nothing leaks).
- any user may manage their own push subscriptions, never someone else's.
"""

from __future__ import annotations

import uuid

from kit import context as callctx
from kit.errors import NotFound, PermissionDenied

INTERNAL = frozenset({"", "service"})
USERS = frozenset({"superadmin", "admin", "seller", "viewer"})


def _parse(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError):
        return None


def require_internal() -> None:
    role = callctx.get().role
    if role not in INTERNAL:
        raise PermissionDenied(f"role {role!r} may not call this internal operation")


def admin_tenant(requested: str) -> str:
    """The tenant an admin-level call acts on."""
    ctx = callctx.get()
    if ctx.role in INTERNAL or ctx.role == "superadmin":
        return requested or ctx.tenant_id
    if ctx.role != "admin":
        raise PermissionDenied(f"role {ctx.role!r} may not manage deliveries")
    if requested and requested != ctx.tenant_id:
        raise NotFound("tenant not found")
    return ctx.tenant_id


def own_user(tenant_id: str, user_id: str) -> tuple[str, str]:
    """(tenant, user) a push-subscription call acts on: users only ever act on themselves."""
    ctx = callctx.get()
    if ctx.role in INTERNAL:
        return tenant_id, user_id
    if ctx.role not in USERS or _parse(ctx.actor_id) is None:
        raise PermissionDenied("the call carries no user")
    if (tenant_id and tenant_id != ctx.tenant_id) or (user_id and user_id != ctx.actor_id):
        raise PermissionDenied("users manage only their own push subscriptions")
    return ctx.tenant_id, ctx.actor_id
