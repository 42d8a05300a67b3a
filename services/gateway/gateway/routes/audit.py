"""The audit trail: admins see their tenant's entries, the superadmin everyone's."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from gateway.auth import Principal, require_roles
from vellarys.tenant.v1 import tenant_pb2 as pb

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class AuditEntryOut(BaseModel):
    id: int
    tenant_id: str | None
    actor_id: str | None
    actor_email: str
    action: str
    target_type: str
    target_id: str
    details: dict[str, Any]
    source_ip: str
    created_at: datetime


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_before_id: int | None


def entry_out(entry: pb.AuditEntry) -> AuditEntryOut:
    return AuditEntryOut(
        id=entry.id,
        tenant_id=entry.tenant_id or None,
        actor_id=entry.actor_id or None,
        actor_email=entry.actor_email,
        action=entry.action,
        target_type=entry.target_type,
        target_id=entry.target_id,
        details=json.loads(entry.details_json or "{}"),
        source_ip=entry.source_ip,
        created_at=entry.created_at.ToDatetime(),
    )


@router.get("", summary="Audit entries, newest first (keyset pagination with before_id)")
async def list_audit(
    request: Request,
    tenant_id: uuid.UUID | None = Query(default=None, description="Superadmin: filter by tenant"),
    limit: int = Query(default=50, ge=1, le=200),
    before_id: int = Query(default=0, ge=0, description="next_before_id of the previous page"),
    principal: Principal = Depends(require_roles("superadmin", "admin")),
) -> AuditPage:
    reply = await request.app.state.clients.tenant.ListAudit(
        pb.ListAuditRequest(tenant_id=str(tenant_id or ""), limit=limit, before_id=before_id),
        metadata=principal.metadata(),
    )
    return AuditPage(items=[entry_out(e) for e in reply.entries], next_before_id=reply.next_before_id or None)
