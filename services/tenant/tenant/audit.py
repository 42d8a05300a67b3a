"""The audit trail of sensitive actions. Entries are written in the transaction of the action."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from tenant import authz
from tenant.models import AuditEntry, User
from tenant.repository import AuditRepository, UserRepository

# Keys whose values must never reach the trail, whatever a caller passes.
SECRET_WORDS = ("password", "token", "secret", "key", "hash")


def _clean(details: dict[str, object]) -> dict[str, object]:
    return {k: ("***" if any(w in k.lower() for w in SECRET_WORDS) else v) for k, v in details.items()}


async def record(
    session: AsyncSession,
    action: str,
    *,
    tenant_id: uuid.UUID | None,
    target_type: str = "",
    target_id: str | uuid.UUID = "",
    details: dict[str, object] | None = None,
    source_ip: str = "",
    actor: User | None = None,
) -> None:
    """`actor` defaults to the user of the call context (the gateway's principal)."""
    if actor is None:
        actor_id = authz.actor_id()
        actor = await UserRepository(session).get(actor_id, None) if actor_id else None
    await AuditRepository(session).add(
        AuditEntry(
            tenant_id=tenant_id,
            actor_id=actor.id if actor else None,
            actor_email=actor.email if actor else "",
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            details=_clean(details or {}),
            source_ip=source_ip[:64],
        )
    )


async def list_entries(
    session: AsyncSession, tenant_id: uuid.UUID | None, limit: int, before_id: int
) -> tuple[list[AuditEntry], int]:
    """A page, newest first, and the cursor of the next page (0 at the end)."""
    limit = max(1, min(limit or 50, 200))
    entries = await AuditRepository(session).page(tenant_id, limit + 1, before_id)
    more = len(entries) > limit
    entries = entries[:limit]
    return entries, entries[-1].id if more and entries else 0
