"""The leads dashboard: list (filters, keyset pages, newest activity first), read, messages, update.

Roles: admins see all the tenant's leads, sellers theirs and unassigned ones, viewers read only; the
superadmin may pass ``?tenant_id=``. The conversation service re-checks all of it from the metadata.
Phone numbers are returned in full to these authorised users and never logged here.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from gateway.auth import Principal, require_roles
from kit.timestamps import timestamp
from vellarys.conversation.v1 import conversation_pb2 as pb

router = APIRouter(prefix="/api/v1/leads", tags=["leads"])
readers = require_roles("superadmin", "admin", "seller", "viewer")
writers = require_roles("superadmin", "admin", "seller")
admins = require_roles("superadmin", "admin")
LeadStatus = Literal["new", "qualified", "in_progress", "won", "lost", "opted_out"]
TENANT_QUERY = Query(default=None, description="Superadmin only: another tenant")
DIRECTIONS = {value: name.removeprefix("DIRECTION_").lower() for name, value in pb.Direction.items()}
KINDS = {value: name.removeprefix("MESSAGE_KIND_").lower() for name, value in pb.MessageKind.items()}


class ProfileFieldOut(BaseModel):
    name: str
    value: str
    evidence: str = Field(description="The lead's words this value came from")
    confidence: float


class LeadOut(BaseModel):
    id: str
    tenant_id: str
    phone: str
    name: str
    status: str
    assigned_user_id: str | None
    notes: str
    message_count: int
    created_at: datetime | None
    last_message_at: datetime | None
    updated_at: datetime | None
    opted_out: bool = False
    owner: str | None = Field(default=None, description="ai, human or nobody (single-lead reads only)")
    owner_user_id: str | None = None
    score: int = 0
    score_reasons: list[str] = Field(default_factory=list)
    profile: list[ProfileFieldOut] = Field(default_factory=list)


class LeadPage(BaseModel):
    items: list[LeadOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last")


class MediaOut(BaseModel):
    id: str
    url: str
    mime_type: str
    caption: str
    filename: str


class LocationOut(BaseModel):
    latitude: float
    longitude: float
    name: str
    address: str


class MessageOut(BaseModel):
    id: str
    lead_id: str
    direction: str
    kind: str
    text: str
    media: MediaOut | None
    location: LocationOut | None
    reply_id: str
    provider: str
    status: str | None = Field(description="Delivery status of an outbound message")
    auto_reply_blocked: str | None = Field(description="Why this message got no automatic reply")
    sent_at: datetime | None
    created_at: datetime | None


class MessagePage(BaseModel):
    items: list[MessageOut] = Field(description="Newest first; the next page holds older messages")
    next_cursor: str | None


class LeadUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: LeadStatus | None = None
    notes: str | None = Field(default=None, max_length=10_000)


def _when(message: Any, field: str) -> datetime | None:
    return getattr(message, field).ToDatetime(tzinfo=UTC) if message.HasField(field) else None


def lead_out(lead: pb.Lead) -> LeadOut:
    return LeadOut(
        id=lead.id,
        tenant_id=lead.tenant_id,
        phone=lead.phone,
        name=lead.name,
        status=lead.status,
        assigned_user_id=lead.assigned_user_id or None,
        notes=lead.notes,
        message_count=lead.message_count,
        created_at=_when(lead, "created_at"),
        last_message_at=_when(lead, "last_message_at"),
        updated_at=_when(lead, "updated_at"),
        opted_out=lead.opted_out,
        owner=lead.owner or None,
        owner_user_id=lead.owner_user_id or None,
        score=lead.score,
        score_reasons=list(lead.score_reasons),
        profile=[
            ProfileFieldOut(name=f.name, value=f.value, evidence=f.evidence, confidence=f.confidence)
            for f in lead.profile
        ],
    )


def message_out(m: pb.ChatMessage) -> MessageOut:
    media = m.media if m.HasField("media") else None
    loc = m.location if m.HasField("location") else None
    return MessageOut(
        id=m.id,
        lead_id=m.lead_id,
        direction=DIRECTIONS.get(m.direction, "unspecified"),
        kind=KINDS.get(m.kind, "unsupported"),
        text=m.text,
        media=MediaOut(
            id=media.id,
            url=media.url,
            mime_type=media.mime_type,
            caption=media.caption,
            filename=media.filename,
        )
        if media
        else None,
        location=LocationOut(
            latitude=loc.latitude, longitude=loc.longitude, name=loc.name, address=loc.address
        )
        if loc
        else None,
        reply_id=m.reply_id,
        provider=m.provider,
        status=m.status or None,
        auto_reply_blocked=m.auto_reply_blocked or None,
        sent_at=_when(m, "sent_at"),
        created_at=_when(m, "created_at"),
    )


class LeadFilters(BaseModel):
    status: LeadStatus | None = None
    assigned_user_id: uuid.UUID | None = None
    unassigned_or_mine: bool = Field(default=False, description="Only leads assigned to me or to nobody")
    q: str | None = Field(default=None, max_length=100, description="Part of the name or phone digits")
    created_from: datetime | None = None
    created_to: datetime | None = None
    active_from: datetime | None = Field(default=None, description="Last message at or after")
    active_to: datetime | None = Field(default=None, description="Last message before")
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=50, ge=1, le=100)


def _list_request(tenant_id: uuid.UUID | None, f: LeadFilters) -> pb.ListLeadsRequest:
    request = pb.ListLeadsRequest(
        tenant_id=str(tenant_id or ""),
        status=f.status or "",
        assigned_user_id=str(f.assigned_user_id or ""),
        unassigned_or_mine=f.unassigned_or_mine,
        query=f.q or "",
        cursor=f.cursor or "",
        limit=f.limit,
    )
    for field in ("created_from", "created_to", "active_from", "active_to"):
        value = getattr(f, field)
        if value is not None:
            getattr(request, field).CopyFrom(timestamp(value))
    return request


@router.get("", summary="List leads, newest activity first")
async def list_leads(
    request: Request,
    filters: Annotated[LeadFilters, Query()],
    tenant_id: uuid.UUID | None = TENANT_QUERY,
    principal: Principal = Depends(readers),
) -> LeadPage:
    reply = await request.app.state.clients.conversation.ListLeads(
        _list_request(tenant_id, filters), metadata=principal.metadata()
    )
    return LeadPage(items=[lead_out(lead) for lead in reply.leads], next_cursor=reply.next_cursor or None)


@router.get("/{lead_id}", summary="One lead")
async def get_lead(
    lead_id: uuid.UUID,
    request: Request,
    tenant_id: uuid.UUID | None = TENANT_QUERY,
    principal: Principal = Depends(readers),
) -> LeadOut:
    reply = await request.app.state.clients.conversation.GetLead(
        pb.GetLeadRequest(tenant_id=str(tenant_id or ""), lead_id=str(lead_id)), metadata=principal.metadata()
    )
    return lead_out(reply.lead)


@router.get("/{lead_id}/messages", summary="A lead's messages, newest first")
async def list_messages(
    lead_id: uuid.UUID,
    request: Request,
    cursor: str | None = Query(default=None, max_length=200),
    limit: int = Query(default=50, ge=1, le=100),
    tenant_id: uuid.UUID | None = TENANT_QUERY,
    principal: Principal = Depends(readers),
) -> MessagePage:
    reply = await request.app.state.clients.conversation.ListMessages(
        pb.ListMessagesRequest(
            tenant_id=str(tenant_id or ""), lead_id=str(lead_id), cursor=cursor or "", limit=limit
        ),
        metadata=principal.metadata(),
    )
    return MessagePage(items=[message_out(m) for m in reply.messages], next_cursor=reply.next_cursor or None)


@router.patch("/{lead_id}", summary="Change a lead's status or notes")
async def update_lead(
    lead_id: uuid.UUID,
    body: LeadUpdate,
    request: Request,
    tenant_id: uuid.UUID | None = TENANT_QUERY,
    principal: Principal = Depends(writers),
) -> LeadOut:
    update = pb.UpdateLeadRequest(tenant_id=str(tenant_id or ""), lead_id=str(lead_id))
    if body.status is not None:
        update.status = body.status
    if body.notes is not None:
        update.notes = body.notes
    reply = await request.app.state.clients.conversation.UpdateLead(update, metadata=principal.metadata())
    return lead_out(reply.lead)


class HumanMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4096)


class SentMessage(BaseModel):
    message: MessageOut
    delivery_id: str | None = Field(description="notify's delivery; null when it will be handed over later")


class EventOut(BaseModel):
    id: str
    kind: str
    reason: str
    actor: str
    detail: str
    message_id: str | None
    owner: str | None
    owner_user_id: str | None
    created_at: datetime | None


class Timeline(BaseModel):
    items: list[EventOut] = Field(description="Oldest first")


@router.post(
    "/{lead_id}/messages", status_code=201, summary="A seller's reply; the conversation becomes theirs"
)
async def send_message(
    lead_id: uuid.UUID,
    body: HumanMessage,
    request: Request,
    tenant_id: uuid.UUID | None = TENANT_QUERY,
    principal: Principal = Depends(writers),
) -> SentMessage:
    reply = await request.app.state.clients.conversation.SendHumanMessage(
        pb.SendHumanMessageRequest(tenant_id=str(tenant_id or ""), lead_id=str(lead_id), text=body.text),
        metadata=principal.metadata(),
    )
    return SentMessage(message=message_out(reply.message), delivery_id=reply.delivery_id or None)


@router.post("/{lead_id}/takeover", summary="Take the conversation over: the AI stops answering it")
async def take_over(
    lead_id: uuid.UUID,
    request: Request,
    tenant_id: uuid.UUID | None = TENANT_QUERY,
    principal: Principal = Depends(writers),
) -> LeadOut:
    reply = await request.app.state.clients.conversation.TakeOver(
        pb.TakeOverRequest(tenant_id=str(tenant_id or ""), lead_id=str(lead_id)),
        metadata=principal.metadata(),
    )
    return lead_out(reply.lead)


@router.post("/{lead_id}/return-to-ai", summary="Give the conversation back to the AI")
async def return_to_ai(
    lead_id: uuid.UUID,
    request: Request,
    tenant_id: uuid.UUID | None = TENANT_QUERY,
    principal: Principal = Depends(writers),
) -> LeadOut:
    reply = await request.app.state.clients.conversation.ReturnToAi(
        pb.ReturnToAiRequest(tenant_id=str(tenant_id or ""), lead_id=str(lead_id)),
        metadata=principal.metadata(),
    )
    return lead_out(reply.lead)


@router.get("/{lead_id}/timeline", summary="The lead's timeline: ownership changes and other events")
async def timeline(
    lead_id: uuid.UUID,
    request: Request,
    tenant_id: uuid.UUID | None = TENANT_QUERY,
    principal: Principal = Depends(readers),
) -> Timeline:
    reply = await request.app.state.clients.conversation.ListConversationEvents(
        pb.ListConversationEventsRequest(tenant_id=str(tenant_id or ""), lead_id=str(lead_id)),
        metadata=principal.metadata(),
    )
    return Timeline(
        items=[
            EventOut(
                id=e.id,
                kind=e.kind,
                reason=e.reason,
                actor=e.actor,
                detail=e.detail,
                message_id=e.message_id or None,
                owner=e.owner or None,
                owner_user_id=e.owner_user_id or None,
                created_at=_when(e, "created_at"),
            )
            for e in reply.events
        ]
    )


class Assignment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID = Field(description="An active seller of the tenant")


@router.post("/{lead_id}/assign", summary="Give the lead to a seller (admins); both sellers are notified")
async def assign(
    lead_id: uuid.UUID,
    body: Assignment,
    request: Request,
    tenant_id: uuid.UUID | None = TENANT_QUERY,
    principal: Principal = Depends(admins),
) -> LeadOut:
    reply = await request.app.state.clients.conversation.AssignLead(
        pb.AssignLeadRequest(tenant_id=str(tenant_id or ""), lead_id=str(lead_id), user_id=str(body.user_id)),
        metadata=principal.metadata(),
    )
    return lead_out(reply.lead)
