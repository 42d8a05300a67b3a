"""Outbound deliveries (dead letters, replay; admins) and web-push subscriptions (any logged-in user)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from gateway.auth import Principal, require_roles
from vellarys.notify.v1 import notify_pb2 as pb

router = APIRouter(tags=["deliveries"])
admins = require_roles("superadmin", "admin")
anyone = require_roles()
TenantQuery = Query(default=None, description="Superadmin only: another tenant")
STATUS = {
    pb.DELIVERY_STATUS_QUEUED: "queued", pb.DELIVERY_STATUS_SENT: "sent",
    pb.DELIVERY_STATUS_DELIVERED: "delivered", pb.DELIVERY_STATUS_READ: "read",
    pb.DELIVERY_STATUS_FAILED: "failed", pb.DELIVERY_STATUS_DEAD: "dead",
}  # fmt: skip


def when(message: Any, name: str) -> datetime | None:
    return getattr(message, name).ToDatetime(tzinfo=None) if message.HasField(name) else None


class DeliveryOut(BaseModel):
    id: str
    message_id: str
    channel_id: str
    recipient: str
    status: str
    attempts: int
    provider: str
    provider_message_id: str
    last_error: str
    error_code: str
    template_name: str
    created_at: datetime | None
    updated_at: datetime | None


class DeadLetters(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str = Field(description="Pass as ?cursor= for the next page; empty on the last page")


def delivery_out(d: pb.Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=d.id, message_id=d.message_id, channel_id=d.channel_id, recipient=d.recipient,
        status=STATUS.get(d.status, "unknown"), attempts=d.attempts, provider=d.provider,
        provider_message_id=d.provider_message_id, last_error=d.last_error, error_code=d.error_code,
        template_name=d.template_name, created_at=when(d, "created_at"), updated_at=when(d, "updated_at"),
    )  # fmt: skip


@router.get("/api/v1/deliveries/dead-letters", summary="Messages that used up their send attempts")
async def dead_letters(
    request: Request,
    cursor: str = Query(default="", max_length=200),
    limit: int = Query(default=50, ge=1, le=200),
    tenant_id: uuid.UUID | None = TenantQuery,
    principal: Principal = Depends(admins),
) -> DeadLetters:
    reply = await request.app.state.clients.notify.ListDeadLetters(
        pb.ListDeadLettersRequest(tenant_id=str(tenant_id or ""), cursor=cursor, page_size=limit),
        metadata=principal.metadata(),
    )
    return DeadLetters(items=[delivery_out(d) for d in reply.deliveries], next_cursor=reply.next_cursor)


@router.post("/api/v1/deliveries/{delivery_id}/replay", summary="Send a dead or failed message again")
async def replay(
    delivery_id: uuid.UUID, request: Request, tenant_id: uuid.UUID | None = TenantQuery,
    principal: Principal = Depends(admins),
) -> DeliveryOut:  # fmt: skip
    reply = await request.app.state.clients.notify.ReplayDelivery(
        pb.ReplayDeliveryRequest(tenant_id=str(tenant_id or ""), delivery_id=str(delivery_id)),
        metadata=principal.metadata(),
    )
    return delivery_out(reply.delivery)


class PushKeys(BaseModel):
    p256dh: str = Field(min_length=1, max_length=200)
    auth: str = Field(min_length=1, max_length=100)


class PushSubscriptionIn(BaseModel):
    """The browser's PushSubscription.toJSON()."""

    endpoint: str = Field(min_length=8, max_length=2000, pattern=r"^https?://")
    keys: PushKeys


class PushEndpoint(BaseModel):
    endpoint: str = Field(min_length=8, max_length=2000)


class PushSubscriptionOut(BaseModel):
    id: str
    endpoint: str
    created_at: datetime | None


@router.post("/api/v1/push/subscriptions", status_code=201, summary="Receive web push on this browser")
async def subscribe(
    body: PushSubscriptionIn, request: Request, principal: Principal = Depends(anyone)
) -> PushSubscriptionOut:
    reply = await request.app.state.clients.notify.RegisterPushSubscription(
        pb.RegisterPushSubscriptionRequest(
            endpoint=body.endpoint, p256dh=body.keys.p256dh, auth=body.keys.auth
        ),
        metadata=principal.metadata(),
    )
    sub = reply.subscription
    return PushSubscriptionOut(id=sub.id, endpoint=sub.endpoint, created_at=when(sub, "created_at"))


@router.delete("/api/v1/push/subscriptions", status_code=204, summary="Stop web push on this browser")
async def unsubscribe(
    body: PushEndpoint, request: Request, principal: Principal = Depends(anyone)
) -> Response:
    await request.app.state.clients.notify.DeletePushSubscription(
        pb.DeletePushSubscriptionRequest(endpoint=body.endpoint), metadata=principal.metadata()
    )
    return Response(status_code=204)


class VapidKey(BaseModel):
    public_key: str = Field(description="applicationServerKey for pushManager.subscribe; empty when off")


@router.get("/api/v1/push/vapid-public-key", summary="The VAPID public key browsers subscribe with")
async def vapid_public_key(request: Request, principal: Principal = Depends(anyone)) -> VapidKey:
    reply = await request.app.state.clients.notify.GetVapidPublicKey(
        pb.GetVapidPublicKeyRequest(), metadata=principal.metadata()
    )
    return VapidKey(public_key=reply.public_key)
