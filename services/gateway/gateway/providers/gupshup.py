"""Gupshup v2 callbacks: `message`, `message-event` and `user-event` (and v3, which is Cloud-API shaped).

`user-event`s (sandbox-start, opted-in, opted-out, …) are reported in `ignored` with their subtype:
they carry no message, and opt-out is enforced from the lead's own words (PARAR/SAIR/STOP).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.providers import meta, phones
from gateway.providers.canonical import (
    JSON,
    InboundMessage,
    Kind,
    Location,
    Media,
    ParseResult,
    Status,
    StatusUpdate,
    clean_name,
    connectivity_test,
    contact_cards,
    contacts_text,
    first,
    get_dict,
    get_float,
    get_list,
    get_str,
    now_or,
    parse_timestamp,
)

PROVIDER = "gupshup"
_MEDIA_KINDS = {
    "image": Kind.IMAGE,
    "video": Kind.VIDEO,
    "audio": Kind.AUDIO,
    "file": Kind.DOCUMENT,
    "document": Kind.DOCUMENT,
    "sticker": Kind.STICKER,
}
_REPLY_TYPES = frozenset({"button_reply", "list_reply", "quick_reply"})
_EVENTS = {
    "enqueued": Status.QUEUED,
    "sent": Status.SENT,
    "delivered": Status.DELIVERED,
    "read": Status.READ,
    "failed": Status.FAILED,
    "deleted": Status.DELETED,
}


def parse(payload: JSON, received_at: datetime | None = None) -> ParseResult:
    test = connectivity_test(payload)
    if test is not None:
        return test
    now = now_or(received_at)
    if "entry" in payload:
        return meta.parse_envelope(payload, PROVIDER, now)
    event = get_str(payload, "type")
    body = payload.get("payload")
    if not isinstance(body, dict):
        return ParseResult(ignored=[f"{PROVIDER}: {event or 'untyped'} event without a payload object"])
    at = parse_timestamp(payload.get("timestamp"), now)
    app = get_str(payload, "app")
    result = ParseResult()
    if event == "message":
        result.add(_message(body, app, at))
    elif event == "message-event":
        result.add(_status(body, app, at))
    elif event == "user-event":
        result.add(f"{PROVIDER}: user-event {get_str(body, 'type')[:40]!r} carries no message")
    else:
        result.add(f"{PROVIDER}: event type {event[:40]!r} is not handled")
    return result


def _message(body: JSON, app: str, at: datetime) -> InboundMessage | str:
    external_id = get_str(body, "id")
    sender = get_dict(body, "sender")
    number = first(get_str(body, "source"), get_str(sender, "phone"))
    who = phones.identity(number, international=True) if number else None
    if not external_id or who is None:
        return f"{PROVIDER}: message without {'id' if not external_id else 'a usable sender'}"
    return InboundMessage(
        provider=PROVIDER,
        external_id=external_id,
        business_id=app,
        sender=who[0],
        sender_phone_known=who[1],
        sender_name=clean_name(get_str(sender, "name")),
        sent_at=at,
        context_id=get_str(get_dict(body, "context"), "id"),
        raw=body,
        **_content(get_str(body, "type"), get_dict(body, "payload")),
    )


def _content(kind: str, content: JSON) -> dict[str, Any]:
    if kind == "text":
        return {"kind": Kind.TEXT, "text": get_str(content, "text")}
    if kind in _MEDIA_KINDS:
        media = Media(
            url=get_str(content, "url"),
            mime_type=get_str(content, "contentType"),
            caption=get_str(content, "caption"),
            filename=get_str(content, "name"),
        )
        return {"kind": _MEDIA_KINDS[kind], "media": media, "text": media.caption}
    if kind == "location":
        lat, lon = get_float(content, "latitude"), get_float(content, "longitude")
        if lat is None or lon is None:
            return {"kind": Kind.UNSUPPORTED}
        place = Location(lat, lon, get_str(content, "name"), get_str(content, "address"))
        return {"kind": Kind.LOCATION, "location": place, "text": first(place.name, place.address)}
    if kind in ("contact", "contacts"):
        cards = contact_cards(get_list(content, "contacts"))
        return {"kind": Kind.CONTACTS, "contacts": cards, "text": contacts_text(cards)}
    if kind in _REPLY_TYPES:
        title = first(get_str(content, "title"), get_str(content, "text"), get_str(content, "reply"))
        reply_id = first(get_str(content, "id"), get_str(content, "postbackText"))
        return {"kind": Kind.INTERACTIVE, "reply_id": reply_id, "reply_title": title, "text": title}
    return {"kind": Kind.UNSUPPORTED}


def _status(body: JSON, app: str, at: datetime) -> StatusUpdate | str:
    event = get_str(body, "type").lower()
    if event not in _EVENTS:
        return f"{PROVIDER}: message-event {event[:40]!r} is not handled"
    own_id, gs_id = get_str(body, "id"), get_str(body, "gsId")
    details = get_dict(body, "payload")
    # `id` is Gupshup's own id for enqueued/sync-failed events and WhatsApp's id otherwise; gsId, when
    # present, is always Gupshup's — the id its send API returned and the one we recorded.
    external_id = first(gs_id, own_id)
    if not external_id:
        return f"{PROVIDER}: message-event {event!r} without id"
    whatsapp_id = get_str(details, "whatsappMessageId") or (own_id if gs_id else "")
    destination = get_str(body, "destination")
    who = phones.identity(destination, international=True) if destination else None
    return StatusUpdate(
        provider=PROVIDER,
        external_id=external_id,
        business_id=app,
        recipient=who[0] if who else destination,
        status=_EVENTS[event],
        at=parse_timestamp(details.get("ts"), at),
        error_code=get_str(details, "code") if event == "failed" else "",
        error_reason=get_str(details, "reason") if event == "failed" else "",
        secondary_id=whatsapp_id if whatsapp_id != external_id else "",
        raw=body,
    )
