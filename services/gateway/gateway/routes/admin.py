"""Platform administration (superadmin): tenants; and the niches any signed-in user may read."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from gateway.auth import Principal, require_roles, source_ip
from vellarys.tenant.v1 import tenant_pb2 as pb

router = APIRouter(tags=["admin"])
superadmin = require_roles("superadmin")
SLUG = r"^[a-z0-9](-?[a-z0-9])*$"
STATUS = {pb.TENANT_STATUS_ACTIVE: "active", pb.TENANT_STATUS_SUSPENDED: "suspended"}


class PlanLimits(BaseModel):
    leads_per_day_soft: int = Field(ge=1, le=10_000_000)
    leads_per_day_hard: int = Field(ge=1, le=10_000_000)
    messages_per_minute_soft: int = Field(ge=1, le=1_000_000)
    messages_per_minute_hard: int = Field(ge=1, le=1_000_000)


class PlanLimitsPatch(BaseModel):
    leads_per_day_soft: int | None = Field(default=None, ge=1, le=10_000_000)
    leads_per_day_hard: int | None = Field(default=None, ge=1, le=10_000_000)
    messages_per_minute_soft: int | None = Field(default=None, ge=1, le=1_000_000)
    messages_per_minute_hard: int | None = Field(default=None, ge=1, le=1_000_000)


class TenantCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200, examples=["Imobiliária XYZ"])
    slug: str = Field(min_length=1, max_length=63, pattern=SLUG, examples=["imobiliaria-xyz"])
    niche_id: int = Field(ge=1, examples=[1])
    limits: PlanLimitsPatch | None = Field(default=None, description="Omitted values take the plan defaults")


class TenantUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    niche_id: int | None = Field(default=None, ge=1)
    limits: PlanLimitsPatch | None = None


class TenantOut(BaseModel):
    id: str
    name: str
    slug: str
    niche_id: int
    status: str
    limits: PlanLimits
    created_at: datetime
    updated_at: datetime
    warnings: list[str] = Field(default_factory=list, description="E.g. above the soft tenant limit")


class TenantPage(BaseModel):
    items: list[TenantOut]
    total: int
    limit: int
    offset: int


class NicheOut(BaseModel):
    id: int
    slug: str
    name: str
    prompt_template: str
    qualification_fields: list[dict[str, Any]]


def tenant_out(t: pb.Tenant, warnings: list[str] | None = None) -> TenantOut:
    limits = t.limits
    return TenantOut(
        id=t.id,
        name=t.name,
        slug=t.slug,
        niche_id=t.niche_id,
        status=STATUS.get(t.status, "unknown"),
        limits=PlanLimits(
            leads_per_day_soft=limits.leads_per_day_soft,
            leads_per_day_hard=limits.leads_per_day_hard,
            messages_per_minute_soft=limits.messages_per_minute_soft,
            messages_per_minute_hard=limits.messages_per_minute_hard,
        ),
        created_at=t.created_at.ToDatetime(),
        updated_at=t.updated_at.ToDatetime(),
        warnings=warnings or [],
    )


def limits_pb(limits: PlanLimitsPatch) -> pb.PlanLimits:
    return pb.PlanLimits(**{k: v for k, v in limits.model_dump().items() if v is not None})


@router.post(
    "/api/v1/admin/tenants",
    status_code=201,
    summary="Create a tenant (the runbook's onboarding step 1)",
    responses={409: {"description": "slug in use"}, 429: {"description": "hard tenant limit reached"}},
)
async def create_tenant(
    body: TenantCreate, request: Request, principal: Principal = Depends(superadmin)
) -> TenantOut:
    message = pb.CreateTenantRequest(
        name=body.name, slug=body.slug, niche_id=body.niche_id, source_ip=source_ip(request)
    )
    if body.limits is not None:
        message.limits.CopyFrom(limits_pb(body.limits))
    reply = await request.app.state.clients.tenant.CreateTenant(message, metadata=principal.metadata())
    return tenant_out(reply.tenant, list(reply.warnings))


@router.get("/api/v1/admin/tenants", summary="List tenants")
async def list_tenants(
    request: Request,
    limit: int = Query(default=50, ge=1, le=200),
    offset: int = Query(default=0, ge=0),
    principal: Principal = Depends(superadmin),
) -> TenantPage:
    reply = await request.app.state.clients.tenant.ListTenants(
        pb.ListTenantsRequest(limit=limit, offset=offset), metadata=principal.metadata()
    )
    return TenantPage(
        items=[tenant_out(t) for t in reply.tenants], total=reply.total, limit=limit, offset=offset
    )


@router.get("/api/v1/admin/tenants/{tenant_id}", summary="Get a tenant")
async def get_tenant(
    tenant_id: uuid.UUID, request: Request, principal: Principal = Depends(superadmin)
) -> TenantOut:
    reply = await request.app.state.clients.tenant.GetTenant(
        pb.GetTenantRequest(tenant_id=str(tenant_id)), metadata=principal.metadata()
    )
    return tenant_out(reply.tenant)


@router.patch("/api/v1/admin/tenants/{tenant_id}", summary="Update name, niche or plan limits")
async def update_tenant(
    tenant_id: uuid.UUID, body: TenantUpdate, request: Request, principal: Principal = Depends(superadmin)
) -> TenantOut:
    message = pb.UpdateTenantRequest(tenant_id=str(tenant_id), source_ip=source_ip(request))
    if body.name is not None:
        message.name = body.name
    if body.niche_id is not None:
        message.niche_id = body.niche_id
    if body.limits is not None:
        message.limits.CopyFrom(limits_pb(body.limits))
    reply = await request.app.state.clients.tenant.UpdateTenant(message, metadata=principal.metadata())
    return tenant_out(reply.tenant)


@router.post("/api/v1/admin/tenants/{tenant_id}/suspend", summary="Suspend: its users are locked out at once")
async def suspend_tenant(
    tenant_id: uuid.UUID, request: Request, principal: Principal = Depends(superadmin)
) -> TenantOut:
    reply = await request.app.state.clients.tenant.SuspendTenant(
        pb.SuspendTenantRequest(tenant_id=str(tenant_id), source_ip=source_ip(request)),
        metadata=principal.metadata(),
    )
    request.app.state.principals.forget(tenant_id=reply.tenant.id)
    return tenant_out(reply.tenant)


@router.post("/api/v1/admin/tenants/{tenant_id}/reactivate", summary="Reactivate a suspended tenant")
async def reactivate_tenant(
    tenant_id: uuid.UUID, request: Request, principal: Principal = Depends(superadmin)
) -> TenantOut:
    reply = await request.app.state.clients.tenant.ReactivateTenant(
        pb.ReactivateTenantRequest(tenant_id=str(tenant_id), source_ip=source_ip(request)),
        metadata=principal.metadata(),
    )
    return tenant_out(reply.tenant)


@router.get("/api/v1/niches", tags=["niches"], summary="Business niches and their qualification fields")
async def list_niches(request: Request, principal: Principal = Depends(require_roles())) -> list[NicheOut]:
    reply = await request.app.state.clients.tenant.ListNiches(
        pb.ListNichesRequest(), metadata=principal.metadata()
    )
    return [
        NicheOut(
            id=n.id,
            slug=n.slug,
            name=n.name,
            prompt_template=n.prompt_template,
            qualification_fields=json.loads(n.qualification_fields_json or "[]"),
        )
        for n in reply.niches
    ]
