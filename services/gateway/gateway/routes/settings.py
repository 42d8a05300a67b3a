"""Tenant settings (admins only): WhatsApp channels and the versioned AI settings."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from gateway.auth import Principal, require_roles
from vellarys.tenant.v1 import tenant_pb2 as pb

router = APIRouter(prefix="/api/v1/settings", tags=["settings"])
admins = require_roles("superadmin", "admin")
Provider = Literal["zapi", "dialog360", "gupshup", "meta"]
PROVIDER_TO_PB = {
    "zapi": pb.PROVIDER_ZAPI,
    "dialog360": pb.PROVIDER_DIALOG360,
    "gupshup": pb.PROVIDER_GUPSHUP,
    "meta": pb.PROVIDER_META,
}
PB_TO_PROVIDER = {v: k for k, v in PROVIDER_TO_PB.items()}
TenantQuery = Query(default=None, description="Superadmin only: another tenant")


def when(message: Any, name: str) -> datetime | None:
    return getattr(message, name).ToDatetime(tzinfo=None) if message.HasField(name) else None


class ChannelSecrets(BaseModel):
    """Which ones a provider uses: zapi token (+ client_token); dialog360 and gupshup api_key;
    meta access_token, app_secret (+ verify_token, generated when omitted)."""

    token: str | None = Field(default=None, max_length=500)
    client_token: str | None = Field(default=None, max_length=500)
    api_key: str | None = Field(default=None, max_length=500)
    access_token: str | None = Field(default=None, max_length=1000)
    app_secret: str | None = Field(default=None, max_length=500)
    verify_token: str | None = Field(default=None, max_length=500)

    def given(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump(exclude_none=True).items() if v}


class ChannelCreate(BaseModel):
    provider: Provider
    name: str = Field(default="", max_length=100)
    external_id: str = Field(
        min_length=1,
        max_length=200,
        description="Z-API instance id, 360dialog/Meta phone_number_id, Gupshup app name",
    )
    phone_number: str = Field(default="", max_length=20, examples=["5541999990000"])
    secrets: ChannelSecrets


class ChannelUpdate(BaseModel):
    name: str | None = Field(default=None, max_length=100)
    external_id: str | None = Field(default=None, min_length=1, max_length=200)
    phone_number: str | None = Field(default=None, max_length=20)
    active: bool | None = None
    secrets: ChannelSecrets | None = Field(default=None, description="Only the secrets given change")


class ChannelOut(BaseModel):
    id: str
    tenant_id: str
    provider: str
    name: str
    external_id: str
    phone_number: str
    active: bool
    masked_secrets: dict[str, str]
    webhook_url: str = Field(
        description="Configure this at the provider; it contains the channel's secret token"
    )
    created_at: datetime | None
    updated_at: datetime | None


def channel_out(request: Request, c: pb.ChannelConfig) -> ChannelOut:
    base = str(request.app.state.settings.public_base_url or "").rstrip("/")
    return ChannelOut(
        id=c.id, tenant_id=c.tenant_id, provider=PB_TO_PROVIDER.get(c.provider, ""), name=c.name,
        external_id=c.external_id, phone_number=c.phone_number, active=c.active,
        masked_secrets=dict(c.masked_secrets), webhook_url=base + c.webhook_path,
        created_at=when(c, "created_at"), updated_at=when(c, "updated_at"),
    )  # fmt: skip


def _tenant(tenant_id: uuid.UUID | None) -> str:
    return str(tenant_id or "")


@router.get("/channels", summary="List WhatsApp channels")
async def list_channels(
    request: Request, tenant_id: uuid.UUID | None = TenantQuery, principal: Principal = Depends(admins)
) -> list[ChannelOut]:
    reply = await request.app.state.clients.tenant.ListChannels(
        pb.ListChannelsRequest(tenant_id=_tenant(tenant_id)), metadata=principal.metadata()
    )
    return [channel_out(request, c) for c in reply.channels]


@router.post("/channels", status_code=201, summary="Connect a WhatsApp channel")
async def create_channel(
    body: ChannelCreate,
    request: Request,
    tenant_id: uuid.UUID | None = TenantQuery,
    principal: Principal = Depends(admins),
) -> ChannelOut:
    reply = await request.app.state.clients.tenant.CreateChannel(
        pb.CreateChannelRequest(
            tenant_id=_tenant(tenant_id), provider=PROVIDER_TO_PB[body.provider], name=body.name,
            external_id=body.external_id, phone_number=body.phone_number, secrets=body.secrets.given(),
        ),
        metadata=principal.metadata(),
    )  # fmt: skip
    return channel_out(request, reply.channel)


@router.get("/channels/{channel_id}", summary="Get a channel (secrets masked)")
async def get_channel(
    channel_id: uuid.UUID, request: Request, tenant_id: uuid.UUID | None = TenantQuery,
    principal: Principal = Depends(admins),
) -> ChannelOut:  # fmt: skip
    reply = await request.app.state.clients.tenant.GetChannel(
        pb.GetChannelRequest(tenant_id=_tenant(tenant_id), channel_id=str(channel_id)),
        metadata=principal.metadata(),
    )
    return channel_out(request, reply.channel)


@router.patch("/channels/{channel_id}", summary="Update a channel's identity, state or secrets")
async def update_channel(
    channel_id: uuid.UUID, body: ChannelUpdate, request: Request, tenant_id: uuid.UUID | None = TenantQuery,
    principal: Principal = Depends(admins),
) -> ChannelOut:  # fmt: skip
    message = pb.UpdateChannelRequest(
        tenant_id=_tenant(tenant_id),
        channel_id=str(channel_id),
        secrets=body.secrets.given() if body.secrets else {},
    )
    for name in ("name", "external_id", "phone_number", "active"):
        if getattr(body, name) is not None:
            setattr(message, name, getattr(body, name))
    reply = await request.app.state.clients.tenant.UpdateChannel(message, metadata=principal.metadata())
    return channel_out(request, reply.channel)


@router.delete("/channels/{channel_id}", status_code=204, summary="Remove a channel")
async def delete_channel(
    channel_id: uuid.UUID, request: Request, tenant_id: uuid.UUID | None = TenantQuery,
    principal: Principal = Depends(admins),
) -> Response:  # fmt: skip
    await request.app.state.clients.tenant.DeleteChannel(
        pb.DeleteChannelRequest(tenant_id=_tenant(tenant_id), channel_id=str(channel_id)),
        metadata=principal.metadata(),
    )
    return Response(status_code=204)


@router.post("/channels/{channel_id}/rotate-token", summary="New webhook token; the old URL stops working")
async def rotate_token(
    channel_id: uuid.UUID, request: Request, tenant_id: uuid.UUID | None = TenantQuery,
    principal: Principal = Depends(admins),
) -> ChannelOut:  # fmt: skip
    reply = await request.app.state.clients.tenant.RotateChannelToken(
        pb.RotateChannelTokenRequest(tenant_id=_tenant(tenant_id), channel_id=str(channel_id)),
        metadata=principal.metadata(),
    )
    return channel_out(request, reply.channel)


class HandoffRules(BaseModel):
    score_threshold: int = Field(default=70, ge=0, le=100)
    keywords: list[str] = Field(default_factory=list, max_length=50)
    on_human_request: bool = True


class AiSettingsIn(BaseModel):
    """Fields left out keep their current value."""

    system_prompt: str | None = Field(default=None, min_length=1, max_length=20_000)
    tone: str | None = Field(default=None, max_length=500)
    company_info: str | None = Field(default=None, max_length=10_000)
    business_hours: str | None = Field(default=None, max_length=1_000)
    greeting: str | None = Field(default=None, max_length=1_000)
    fallback_message: str | None = Field(default=None, min_length=1, max_length=1_000)
    handoff: HandoffRules | None = None
    model: str | None = Field(default=None, max_length=100, examples=["gpt-4o"])
    temperature: float | None = Field(default=None, ge=0, le=2)
    debounce_seconds: int | None = Field(default=None, ge=0, le=120)


class AiSettingsOut(BaseModel):
    system_prompt: str
    tone: str
    company_info: str
    business_hours: str
    greeting: str
    fallback_message: str
    handoff: HandoffRules
    model: str
    temperature: float
    debounce_seconds: int


class AiSettingsVersionOut(BaseModel):
    version: int = Field(description="0 = nothing saved yet: the niche's defaults")
    actor_id: str
    actor_email: str
    created_at: datetime | None
    rolled_back_from: int | None
    settings: AiSettingsOut


class AiSettingsChange(BaseModel):
    field: str
    from_value: Any
    to_value: Any


def version_out(v: pb.AiSettingsVersion) -> AiSettingsVersionOut:
    s = v.settings
    settings = AiSettingsOut(
        system_prompt=s.system_prompt, tone=s.tone, company_info=s.company_info,
        business_hours=s.business_hours,
        greeting=s.greeting, fallback_message=s.fallback_message, model=s.model,
        temperature=round(s.temperature, 3), debounce_seconds=s.debounce_seconds,
        handoff=HandoffRules(
            score_threshold=s.handoff.score_threshold, keywords=list(s.handoff.keywords),
            on_human_request=s.handoff.on_human_request,
        ),
    )  # fmt: skip
    return AiSettingsVersionOut(
        version=v.version, actor_id=v.actor_id, actor_email=v.actor_email, created_at=when(v, "created_at"),
        rolled_back_from=v.rolled_back_from or None, settings=settings,
    )  # fmt: skip


@router.get("/ai", summary="Current AI settings")
async def get_ai(
    request: Request, tenant_id: uuid.UUID | None = TenantQuery, principal: Principal = Depends(admins)
) -> AiSettingsVersionOut:
    reply = await request.app.state.clients.tenant.GetAiSettings(
        pb.GetAiSettingsRequest(tenant_id=_tenant(tenant_id)), metadata=principal.metadata()
    )
    return version_out(reply.current)


@router.put("/ai", summary="Change AI settings (stored as a new version)")
async def put_ai(
    body: AiSettingsIn, request: Request, tenant_id: uuid.UUID | None = TenantQuery,
    principal: Principal = Depends(admins),
) -> AiSettingsVersionOut:  # fmt: skip
    given = body.model_dump(exclude_none=True)
    if not given:
        return await get_ai(request, tenant_id, principal)
    handoff = given.pop("handoff", None)
    settings = pb.AiSettings(**given, handoff=pb.HandoffRules(**handoff) if handoff else None)
    reply = await request.app.state.clients.tenant.UpdateAiSettings(
        pb.UpdateAiSettingsRequest(
            tenant_id=_tenant(tenant_id), settings=settings,
            fields=[*given, *(["handoff"] if handoff else [])],
            actor_email=principal.email,
        ),
        metadata=principal.metadata(),
    )  # fmt: skip
    return version_out(reply.current)


@router.get("/ai/versions", summary="AI settings versions, newest first")
async def list_versions(
    request: Request, tenant_id: uuid.UUID | None = TenantQuery,
    limit: int = Query(default=20, ge=1, le=100), before: int = Query(default=0, ge=0),
    principal: Principal = Depends(admins),
) -> list[AiSettingsVersionOut]:  # fmt: skip
    reply = await request.app.state.clients.tenant.ListAiSettingsVersions(
        pb.ListAiSettingsVersionsRequest(
            tenant_id=_tenant(tenant_id), page_size=limit, before_version=before
        ),
        metadata=principal.metadata(),
    )
    return [version_out(v) for v in reply.versions]


@router.get("/ai/diff", summary="Field-by-field changes between two versions")
async def diff_versions(
    request: Request,
    from_version: int = Query(alias="from", ge=0),
    to_version: int = Query(alias="to", ge=0),
    tenant_id: uuid.UUID | None = TenantQuery,
    principal: Principal = Depends(admins),
) -> list[AiSettingsChange]:
    reply = await request.app.state.clients.tenant.DiffAiSettings(
        pb.DiffAiSettingsRequest(
            tenant_id=_tenant(tenant_id), from_version=from_version, to_version=to_version
        ),
        metadata=principal.metadata(),
    )
    return [
        AiSettingsChange(field=c.field, from_value=json.loads(c.from_value), to_value=json.loads(c.to_value))
        for c in reply.changes
    ]


@router.get("/ai/versions/{version}", summary="One AI settings version")
async def get_version(
    version: int, request: Request, tenant_id: uuid.UUID | None = TenantQuery,
    principal: Principal = Depends(admins),
) -> AiSettingsVersionOut:  # fmt: skip
    reply = await request.app.state.clients.tenant.GetAiSettingsVersion(
        pb.GetAiSettingsVersionRequest(tenant_id=_tenant(tenant_id), version=version),
        metadata=principal.metadata(),
    )
    return version_out(reply.version)


@router.post("/ai/rollback/{version}", summary="Make a new version equal to an old one")
async def rollback(
    version: int, request: Request, tenant_id: uuid.UUID | None = TenantQuery,
    principal: Principal = Depends(admins),
) -> AiSettingsVersionOut:  # fmt: skip
    reply = await request.app.state.clients.tenant.RollbackAiSettings(
        pb.RollbackAiSettingsRequest(
            tenant_id=_tenant(tenant_id), version=version, actor_email=principal.email
        ),
        metadata=principal.metadata(),
    )
    return version_out(reply.current)
