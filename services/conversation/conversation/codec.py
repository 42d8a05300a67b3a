"""protobuf ⇄ domain for the conversation service; the only module besides server.py that sees _pb2."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from conversation.domain import Inbound, LeadFilters, Limits, StatusUpdate, clean
from conversation.models import ConversationEvent, Lead, Message
from conversation.ownership import LeadDetail
from conversation.service import parse_id
from kit.timestamps import timestamp_or_empty, timestamp_or_none
from vellarys.conversation.v1 import conversation_pb2 as pb

# MESSAGE_KIND_TEXT → "text"; unknown future kinds are kept as "unsupported", never dropped.
KIND_NAMES = {value: name.removeprefix("MESSAGE_KIND_").lower() for name, value in pb.MessageKind.items()}


def decode_kind(message: pb.InboundMessage) -> str:
    if message.kind == pb.MESSAGE_KIND_UNSPECIFIED:
        return "text" if message.text else "unsupported"
    return KIND_NAMES.get(message.kind, "unsupported")


def decode_media(message: pb.InboundMessage) -> dict[str, Any] | None:
    if not message.HasField("media"):
        return None
    m = message.media
    fields = {
        "id": m.id,
        "url": m.url,
        "mime_type": m.mime_type,
        "caption": m.caption,
        "filename": m.filename,
    }
    return {key: clean(value) for key, value in fields.items() if value}


def decode_location(message: pb.InboundMessage) -> dict[str, Any] | None:
    if not message.HasField("location"):
        return None
    loc = message.location
    return {
        "latitude": loc.latitude,
        "longitude": loc.longitude,
        "name": clean(loc.name),
        "address": clean(loc.address),
    }


def decode_inbound(message: pb.InboundMessage) -> Inbound:
    return Inbound(
        provider=message.provider,
        external_id=message.external_id,
        sender=message.sender,
        sender_name=message.sender_name,
        channel_id=message.channel_id,
        kind=decode_kind(message),
        text=message.text,
        media=decode_media(message),
        location=decode_location(message),
        reply_id=message.reply_id,
        sent_at=message.sent_at.ToDatetime(tzinfo=UTC) if message.HasField("sent_at") else None,
        from_me=message.from_me,
        raw_json=message.raw_json,
    )


def encode_lead(lead: Lead, detail: LeadDetail | None = None) -> pb.Lead:
    encoded = _lead(lead)
    if detail is not None and detail.conversation is not None:
        encoded.owner = detail.conversation.owner
        encoded.owner_user_id = str(detail.conversation.owner_user_id or "")
    if detail is not None and detail.profile is not None:
        profile = detail.profile
        encoded.score = profile.score
        encoded.score_reasons.extend(profile.score_reasons)
        encoded.profile.extend(
            pb.ProfileField(
                name=str(f.get("name", "")),
                value=str(f.get("value", "")),
                evidence=str(f.get("evidence", "")),
                confidence=float(f.get("confidence", 0.0)),
            )
            for f in profile.fields
        )
    return encoded


def encode_event(event: ConversationEvent) -> pb.ConversationEvent:
    return pb.ConversationEvent(
        id=str(event.id),
        kind=event.kind,
        reason=event.reason,
        actor=event.actor,
        message_id=str(event.message_id or ""),
        owner=event.owner or "",
        owner_user_id=str(event.owner_user_id or ""),
        created_at=timestamp_or_empty(event.created_at),
        detail=event.detail,
    )


def _lead(lead: Lead) -> pb.Lead:
    return pb.Lead(
        id=str(lead.id),
        tenant_id=str(lead.tenant_id),
        phone=lead.phone,
        name=lead.name,
        status=lead.status,
        created_at=timestamp_or_empty(lead.created_at),
        last_message_at=timestamp_or_empty(lead.last_message_at),
        message_count=lead.message_count,
        assigned_user_id=str(lead.assigned_user_id or ""),
        notes=lead.notes,
        updated_at=timestamp_or_empty(lead.updated_at),
        opted_out=lead.opted_out,
    )


LEVELS = {pb.LIMIT_LEVEL_SOFT: "soft", pb.LIMIT_LEVEL_HARD: "hard"}
STATUS_NAMES = {
    value: name.removeprefix("DELIVERY_STATUS_").lower() for name, value in pb.DeliveryStatus.items()
}
DIRECTIONS = {name.removeprefix("DIRECTION_").lower(): value for name, value in pb.Direction.items()}
KINDS = {name: value for value, name in KIND_NAMES.items()}


def when(message: Any, field: str) -> datetime | None:
    return getattr(message, field).ToDatetime(tzinfo=UTC) if message.HasField(field) else None


def decode_limits(request: pb.IngestInboundRequest) -> Limits:
    if not request.HasField("limits"):
        return Limits()
    limits = request.limits
    return Limits(
        messages_per_minute=LEVELS.get(limits.messages_per_minute, "ok"),
        tenant_suspended=limits.tenant_suspended,
        new_leads_soft=max(limits.new_leads_per_day_soft, 0),
        new_leads_hard=max(limits.new_leads_per_day_hard, 0),
    )


def decode_status(request: pb.RecordStatusRequest) -> StatusUpdate:
    return StatusUpdate(
        provider=request.provider,
        provider_message_id=request.provider_message_id,
        # UNSPECIFIED decodes to "unspecified", which the use case rejects by name.
        status=STATUS_NAMES.get(request.status, str(request.status)),
        error_code=request.error_code,
        error_title=request.error_title,
        at=when(request, "at"),
    )


def decode_filters(request: pb.ListLeadsRequest) -> tuple[LeadFilters, bool]:
    """The filters, and whether the caller asked for "unassigned or mine" (resolved against its id)."""
    filters = LeadFilters(
        status=request.status.strip(),
        assigned_user_id=(
            parse_id(request.assigned_user_id, "assigned_user_id") if request.assigned_user_id else None
        ),
        query=clean(request.query),
        created_from=when(request, "created_from"),
        created_to=when(request, "created_to"),
        active_from=when(request, "active_from"),
        active_to=when(request, "active_to"),
    )
    return filters, request.unassigned_or_mine


def encode_message(message: Message) -> pb.ChatMessage:
    media = message.media or {}
    location = message.location or {}
    return pb.ChatMessage(
        id=str(message.id),
        lead_id=str(message.lead_id),
        direction=DIRECTIONS.get(message.direction, pb.DIRECTION_UNSPECIFIED),
        kind=KINDS.get(message.kind, pb.MESSAGE_KIND_UNSUPPORTED),
        text=message.text,
        media=pb.Media(**{k: str(v) for k, v in media.items() if k in MEDIA_FIELDS}) if media else None,
        location=pb.Location(**location) if location else None,
        reply_id=message.reply_id,
        provider=message.provider,
        status=message.status or "",
        auto_reply_blocked=message.auto_reply_blocked or "",
        sent_at=timestamp_or_none(message.sent_at),
        created_at=timestamp_or_empty(message.created_at),
    )


MEDIA_FIELDS = ("id", "url", "mime_type", "caption", "filename")
