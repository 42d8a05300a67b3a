"""The tenant service's own check of who may do what, from the call context the gateway forwards.

The gateway enforces roles first; this re-check means a bug or a forged call there still cannot reach
another tenant's data. Another tenant's object is NOT_FOUND (never PERMISSION_DENIED), so existence
does not leak. A call without a role is an internal service call (webhook routing, reply path): only
RPCs that allow it (``allow_system=True``) accept one.
"""

from __future__ import annotations

import uuid

from kit import context as callctx
from kit.context import CallContext
from kit.errors import NotFound, PermissionDenied

SUPERADMIN = "superadmin"
ADMINS = frozenset({"superadmin", "admin"})
ANY_USER = frozenset({"superadmin", "admin", "seller", "viewer"})


class OutOfScope(NotFound):
    def __init__(self, what: str = "tenant") -> None:
        super().__init__(f"{what} not found")


def require(roles: set[str] | frozenset[str], *, allow_system: bool = False) -> CallContext:
    """The call context, when its role is one of `roles` (or it is a system call, if allowed)."""
    ctx = callctx.get()
    if not ctx.role and allow_system:
        return ctx
    if ctx.role not in roles:
        raise PermissionDenied(f"role {ctx.role or 'none'!r} may not do this")
    if ctx.role != SUPERADMIN and not parse(ctx.tenant_id):
        raise PermissionDenied("the call carries no tenant")
    return ctx


def tenant_scope(requested_tenant_id: str | uuid.UUID | None = None) -> uuid.UUID:
    """The tenant to act on: the caller's own, or any requested one for the superadmin."""
    ctx = callctx.get()
    requested = parse(str(requested_tenant_id)) if requested_tenant_id else None
    if requested_tenant_id and requested is None:
        raise OutOfScope()
    own = parse(ctx.tenant_id)
    if ctx.role == SUPERADMIN or not ctx.role:
        scope = requested or own
        if scope is None:
            raise OutOfScope()
        return scope
    if own is None or (requested is not None and requested != own):
        raise OutOfScope()
    return own


def object_scope() -> uuid.UUID | None:
    """The tenant that objects looked up by id must belong to; None = any (superadmin, system)."""
    ctx = callctx.get()
    if ctx.role == SUPERADMIN or not ctx.role:
        return None
    own = parse(ctx.tenant_id)
    if own is None:
        raise OutOfScope()
    return own


def actor_id() -> uuid.UUID | None:
    return parse(callctx.get().actor_id)


def parse(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError):
        return None
