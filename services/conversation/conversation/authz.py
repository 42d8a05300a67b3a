"""The conversation service's own check of who may do what, from the call context the gateway forwards.

The gateway enforces roles first; this re-check means a bug there still cannot reach another tenant's
leads. Roles:
- no role, or "service": an internal call (the gateway's webhook path, notify, the reply worker). The
  gateway's webhook path forwards no user, so it arrives without a role. Internal calls act on the
  tenant named in the request. Ingest/status RPCs accept only internal calls: a dashboard user can
  never forge an inbound message or a delivery status.
- superadmin: any tenant (the request's, else its own).
- admin, seller, viewer: only the tenant in their context; another tenant is NOT_FOUND, so existence
  does not leak. Sellers see only leads assigned to them or to nobody; viewers cannot write.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from kit import context as callctx
from kit.errors import NotFound, PermissionDenied

INTERNAL = frozenset({"", "service"})
SUPERADMIN = "superadmin"
USERS = frozenset({"superadmin", "admin", "seller", "viewer"})
WRITERS = frozenset({"superadmin", "admin", "seller", *INTERNAL})
PEOPLE_WRITERS = frozenset({"superadmin", "admin", "seller"})
ASSIGNERS = frozenset({"superadmin", "admin"})


@dataclass(frozen=True)
class Scope:
    tenant_id: uuid.UUID
    # Set for sellers: they see leads assigned to them or unassigned, nothing else.
    seller_id: uuid.UUID | None = None


def require_internal() -> None:
    role = callctx.get().role
    if role not in INTERNAL:
        raise PermissionDenied(f"role {role!r} may not call this internal operation")


def require_writer() -> None:
    role = callctx.get().role
    if role not in WRITERS:
        raise PermissionDenied(f"role {role!r} may not change leads")


def require_assigner() -> uuid.UUID | None:
    """Only admins (and the superadmin) choose a lead's seller: the acting admin's id."""
    role = callctx.get().role
    if role not in ASSIGNERS:
        raise PermissionDenied(f"role {role!r} may not assign leads")
    return actor_id()


def require_person() -> uuid.UUID:
    """A dashboard user who may write (seller, admin, superadmin): the acting person's id."""
    ctx = callctx.get()
    if ctx.role not in PEOPLE_WRITERS:
        raise PermissionDenied(f"role {ctx.role!r} may not answer or take over conversations")
    actor = _parse(ctx.actor_id)
    if actor is None:
        raise PermissionDenied("the call carries no user")
    return actor


def scope(requested: uuid.UUID | None) -> Scope:
    """The tenant (and seller restriction) a dashboard or internal call acts on."""
    ctx = callctx.get()
    if ctx.role not in USERS and ctx.role not in INTERNAL:
        raise PermissionDenied(f"unknown role {ctx.role!r}")
    own = _parse(ctx.tenant_id)
    if ctx.role in INTERNAL or ctx.role == SUPERADMIN:
        tenant = requested or own
        if tenant is None:
            raise NotFound("tenant not found")
        return Scope(tenant)
    if own is None:
        raise PermissionDenied("the call carries no tenant")
    if requested is not None and requested != own:
        raise NotFound("tenant not found")
    if ctx.role != "seller":
        return Scope(own)
    seller = _parse(ctx.actor_id)
    if seller is None:
        raise PermissionDenied("the call carries no user")
    return Scope(own, seller)


def actor_id() -> uuid.UUID | None:
    return _parse(callctx.get().actor_id)


def _parse(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError):
        return None
