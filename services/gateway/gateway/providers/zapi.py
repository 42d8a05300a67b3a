"""Z-API webhooks: `ReceivedCallback`, `MessageStatusCallback`, `DeliveryCallback`.

Decisions, because Z-API mirrors a whole WhatsApp Web session:
- Group, newsletter (channel) and broadcast/status-feed messages are ignored with a reason: the
  product answers 1:1 leads, and a group member is not a lead of the agency.
- Replies to the agency's own status (`isStatusReply`) are 1:1 messages from a person and are kept.
- `fromMe` messages (typed on the agency's phone, with "notify sent by me") are kept with
  `from_me=True` — the human-takeover signal; the sender is still the lead (the chat's `phone`).
- `notification` events (calls, E2E notices, group changes) are ignored with their name.
- `@lid` chats become `lid:<digits>@lid` identities (a @lid cannot be turned into a number).
- `momment` is epoch milliseconds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.providers import phones
from gateway.providers.canonical import (
    JSON,
    Contact,
    InboundMessage,
    Kind,
    Location,
    Media,
    ParseResult,
    Status,
    StatusUpdate,
    clean_name,
    connectivity_test,
    contacts_text,
    dicts,
    first,
    get_bool,
    get_dict,
    get_float,
    get_list,
    get_str,
    normalised_phones,
    now_or,
    parse_timestamp,
)

PROVIDER = "zapi"
# content key -> (kind, url key); the url key names the file link inside that object.
_MEDIA = {
    "image": (Kind.IMAGE, "imageUrl"),
    "audio": (Kind.AUDIO, "audioUrl"),
    "video": (Kind.VIDEO, "videoUrl"),
    "document": (Kind.DOCUMENT, "documentUrl"),
    "sticker": (Kind.STICKER, "stickerUrl"),
}
_STATUSES = {
    "PENDING": Status.QUEUED,
    "SENT": Status.SENT,
    "RECEIVED": Status.DELIVERED,
    "DELIVERED": Status.DELIVERED,
    "READ": Status.READ,
    "PLAYED": Status.PLAYED,
}


def parse(payload: JSON, received_at: datetime | None = None) -> ParseResult:
    test = connectivity_test(payload)
    if test is not None:
        return test
    now = now_or(received_at)
    event = get_str(payload, "type")
    result = ParseResult()
    match event.lower():
        case "receivedcallback":
            result.add(_received(payload, now))
        case "messagestatuscallback":
            _statuses(payload, now, result)
        case "deliverycallback":
            result.add(_delivery(payload, now))
        case _:
            result.add(f"{PROVIDER}: event type {event[:40] or 'missing'!r} is not handled")
    return result


def _skip_reason(payload: JSON) -> str | None:
    if get_bool(payload, "isGroup") or phones.is_group(get_str(payload, "phone")):
        return "group message (only 1:1 chats are leads)"
    if get_bool(payload, "isNewsletter"):
        return "newsletter message"
    if get_bool(payload, "broadcast"):
        return "broadcast or status-feed message"
    notification = get_str(payload, "notification")
    if notification and not any(key in payload for key in _CONTENT_KEYS):
        return f"notification {notification[:40]!r}"
    return None


def _sender(payload: JSON) -> tuple[str, bool] | None:
    # On fromMe messages senderLid is the agency's own id; only the chat keys name the lead.
    keys = ("phone", "chatLid") if get_bool(payload, "fromMe") else ("phone", "chatLid", "senderLid")
    for key in keys:
        value = get_str(payload, key)
        who = phones.identity(value, international=True) if value else None
        if who:
            return who
    return None


def _received(payload: JSON, now: datetime) -> InboundMessage | str:
    skip = _skip_reason(payload)
    if skip:
        return f"{PROVIDER}: {skip}"
    external_id = get_str(payload, "messageId")
    sender = _sender(payload)
    if not external_id or sender is None:
        return f"{PROVIDER}: received message without {'messageId' if not external_id else 'a usable phone'}"
    from_me = get_bool(payload, "fromMe")
    # On fromMe messages senderName is the agency itself; chatName is how it saved the lead.
    name = (
        get_str(payload, "chatName")
        if from_me
        else first(get_str(payload, "senderName"), get_str(payload, "chatName"))
    )
    content = _content(payload)
    content.setdefault("context_id", get_str(payload, "referenceMessageId"))
    return InboundMessage(
        provider=PROVIDER,
        external_id=external_id,
        business_id=get_str(payload, "instanceId"),
        sender=sender[0],
        sender_phone_known=sender[1],
        sender_name=clean_name(name),
        sent_at=parse_timestamp(payload.get("momment"), now),
        from_me=from_me,
        raw=payload,
        **content,
    )


def _content(payload: JSON) -> dict[str, Any]:
    for key, build in _BUILDERS.items():
        body = payload.get(key)
        if isinstance(body, dict | list) and body:
            return build(key, body)
    return {"kind": Kind.UNSUPPORTED}


def _text(_: str, body: Any) -> dict[str, Any]:
    return (
        {"kind": Kind.TEXT, "text": get_str(body, "message")}
        if isinstance(body, dict)
        else {"kind": Kind.UNSUPPORTED}
    )


def _media(key: str, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        return {"kind": Kind.UNSUPPORTED}
    kind, url_key = _MEDIA[key]
    media = Media(
        url=get_str(body, url_key),
        mime_type=get_str(body, "mimeType"),
        caption=first(get_str(body, "caption"), get_str(body, "title") if key == "document" else ""),
        filename=get_str(body, "fileName"),
        voice=get_bool(body, "ptt"),
    )
    return {"kind": kind, "media": media, "text": media.caption}


def _location(_: str, body: Any) -> dict[str, Any]:
    lat = get_float(body, "latitude") if isinstance(body, dict) else None
    lon = get_float(body, "longitude") if isinstance(body, dict) else None
    if lat is None or lon is None:
        return {"kind": Kind.UNSUPPORTED}
    place = Location(lat, lon, get_str(body, "name"), get_str(body, "address"), get_str(body, "url"))
    return {"kind": Kind.LOCATION, "location": place, "text": first(place.name, place.address)}


def _contacts(_: str, body: Any) -> dict[str, Any]:
    cards = tuple(
        Contact(
            name=get_str(card, "displayName"),
            phones=normalised_phones(p for p in get_list(card, "phones") if isinstance(p, str)),
        )
        for card in dicts(body if isinstance(body, list) else [body])
    )
    return {"kind": Kind.CONTACTS, "contacts": cards, "text": contacts_text(cards)}


def _reply(key: str, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        return {"kind": Kind.UNSUPPORTED}
    if key == "buttonsResponseMessage":
        reply_id, title = get_str(body, "buttonId"), get_str(body, "message")
    elif key == "listResponseMessage":
        reply_id, title = (
            get_str(body, "selectedRowId"),
            first(get_str(body, "title"), get_str(body, "message")),
        )
    else:  # pollVote: the chosen option names; the poll is the message it answers
        title = ", ".join(get_str(o, "name") for o in dicts(get_list(body, "options")))
        return {
            "kind": Kind.INTERACTIVE,
            "reply_title": title,
            "text": title,
            "context_id": get_str(body, "pollMessageId"),
        }
    return {"kind": Kind.INTERACTIVE, "reply_id": reply_id, "reply_title": title, "text": title}


def _reaction(_: str, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        return {"kind": Kind.UNSUPPORTED}
    emoji = get_str(body, "value")
    target = get_str(get_dict(body, "referencedMessage"), "messageId")
    return {"kind": Kind.REACTION, "reaction_emoji": emoji, "reaction_to": target, "text": emoji}


_BUILDERS = {
    "text": _text,
    **dict.fromkeys(_MEDIA, _media),
    "location": _location,
    "contact": _contacts,
    "contacts": _contacts,
    "buttonsResponseMessage": _reply,
    "listResponseMessage": _reply,
    "pollVote": _reply,
    "reaction": _reaction,
}
# Keys that mean "this is a real message" even when a notification tag rides along; unknown keys
# like `poll`, `order`, `product` still yield an unsupported message rather than being dropped.
_CONTENT_KEYS = (*_BUILDERS, "poll", "order", "product", "requestPayment", "sendPayment", "pinMessage")


def _statuses(payload: JSON, now: datetime, result: ParseResult) -> None:
    name = get_str(payload, "status").upper()
    ids = [i for i in get_list(payload, "ids") if isinstance(i, str) and i] or (
        [get_str(payload, "id")] if get_str(payload, "id") else []
    )
    if name == "READ_BY_ME":
        result.add(f"{PROVIDER}: READ_BY_ME is the agency reading, not a delivery status")
    elif name not in _STATUSES:
        result.add(f"{PROVIDER}: message status {name[:40]!r} is not known")
    elif not ids:
        result.add(f"{PROVIDER}: message status without ids")
    for message_id in ids if name in _STATUSES else []:
        result.add(_status_update(payload, message_id, _STATUSES[name], now))


def _status_update(
    payload: JSON, message_id: str, status: Status, now: datetime, **error: str
) -> StatusUpdate:
    phone = get_str(payload, "phone")
    who = phones.identity(phone, international=True) if phone else None
    return StatusUpdate(
        provider=PROVIDER,
        external_id=message_id,
        business_id=get_str(payload, "instanceId"),
        recipient=who[0] if who else phone,
        status=status,
        at=parse_timestamp(payload.get("momment"), now),
        raw=payload,
        **error,
    )


def _delivery(payload: JSON, now: datetime) -> StatusUpdate | str:
    """Z-API handed our message to WhatsApp (queued) or could not (failed, with its error text)."""
    message_id = get_str(payload, "messageId")
    if not message_id:
        return f"{PROVIDER}: delivery callback without messageId"
    error = get_str(payload, "error")
    if not error:
        return _status_update(payload, message_id, Status.QUEUED, now)
    return _status_update(
        payload, message_id, Status.FAILED, now, error_code=get_str(payload, "errorCode"), error_reason=error
    )
