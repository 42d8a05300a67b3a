"""Who may use the ai service's dashboard RPCs, from the call context the gateway forwards.

The gateway checks roles first; this re-check means a bug or a forged call there still cannot reach
another tenant's data. Another tenant's objects are NOT_FOUND, so their existence does not leak. A
call without a role is an internal one (the reply worker): only RPCs that allow it accept it.
"""

from __future__ import annotations

import uuid

from kit import context as callctx
from kit.errors import NotFound, PermissionDenied

SUPERADMIN = "superadmin"
ADMINS = frozenset({SUPERADMIN, "admin"})


def _parse(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError):
        return None


def tenant_scope(requested: str, *, allow_system: bool = False) -> str:
    """The tenant to act on: an admin's own, any requested one for the superadmin (or the system)."""
    ctx = callctx.get()
    if not ctx.role:
        if not allow_system:
            raise PermissionDenied("this call needs a signed-in admin")
        return requested
    if ctx.role not in ADMINS:
        raise PermissionDenied(f"role {ctx.role!r} may not do this")
    if ctx.role == SUPERADMIN:
        return requested or ctx.tenant_id
    own = _parse(ctx.tenant_id)
    if own is None or (requested and _parse(requested) != own):
        raise NotFound("tenant not found")
    return str(own)


def actor_id() -> uuid.UUID | None:
    return _parse(callctx.get().actor_id)
