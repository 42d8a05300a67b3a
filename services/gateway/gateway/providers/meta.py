"""Meta WhatsApp Cloud API webhooks, and the Cloud-API `value` parser that 360dialog reuses.

One POST may batch many entries × changes, each with messages and statuses: every one is processed,
and anything skipped is named in `ignored` with where it was (`entry[1].changes[0]`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from gateway.providers import phones
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
    dicts,
    first,
    get_bool,
    get_dict,
    get_float,
    get_list,
    get_str,
    now_or,
    parse_timestamp,
)

PROVIDER = "meta"
_MEDIA_KINDS = {
    "image": Kind.IMAGE,
    "video": Kind.VIDEO,
    "audio": Kind.AUDIO,
    "voice": Kind.AUDIO,  # On-Premise name for voice notes
    "document": Kind.DOCUMENT,
    "sticker": Kind.STICKER,
}
STATUSES = {
    "sent": Status.SENT,
    "delivered": Status.DELIVERED,
    "read": Status.READ,
    "played": Status.PLAYED,
    "failed": Status.FAILED,
    "deleted": Status.DELETED,
    "enqueued": Status.QUEUED,  # Gupshup's v3 (Cloud-API-shaped) events
}


def parse(payload: JSON, received_at: datetime | None = None) -> ParseResult:
    return connectivity_test(payload) or parse_envelope(payload, PROVIDER, now_or(received_at))


def parse_envelope(payload: JSON, provider: str, now: datetime) -> ParseResult:
    result = ParseResult()
    obj = payload.get("object")
    if obj is not None and obj != "whatsapp_business_account":
        result.ignored.append(f"{provider}: object {str(obj)[:40]!r} is not whatsapp_business_account")
        return result
    if not isinstance(payload.get("entry"), list):
        result.ignored.append(f"{provider}: payload has no entry list")
        return result
    for i, entry in enumerate(payload["entry"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("changes"), list):
            result.ignored.append(f"{provider}: entry[{i}] has no changes list")
            continue
        for j, change in enumerate(entry["changes"]):
            _parse_change(change, provider, now, f"entry[{i}].changes[{j}]", result)
    return result


def _parse_change(change: Any, provider: str, now: datetime, where: str, result: ParseResult) -> None:
    if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
        result.ignored.append(f"{provider}: {where} has no value object")
        return
    field = get_str(change, "field") or "messages"
    if field == "messages":
        parse_value(change["value"], provider, now, where, result)
    elif field == "smb_message_echoes":
        _parse_echoes(change["value"], provider, now, where, result)
    else:
        result.ignored.append(f"{provider}: {where} field {field[:40]!r} is not handled")


def parse_value(value: JSON, provider: str, now: datetime, where: str, result: ParseResult) -> None:
    """A Cloud-API `value` (or a 360dialog On-Premise body): messages, statuses and errors."""
    business_id = get_str(get_dict(value, "metadata"), "phone_number_id")
    contacts = dicts(get_list(value, "contacts"))
    found = False
    for key, parse_one in (
        ("messages", lambda m: parse_message(m, contacts, business_id, provider, now)),
        ("statuses", lambda s: parse_status(s, business_id, provider, now)),
    ):
        found = _each(value, key, provider, where, parse_one, result) or found
    for error in dicts(get_list(value, "errors")):
        found = True
        result.ignored.append(f"{provider}: {where} error {get_str(error, 'code')} {get_str(error, 'title')}")
    if not found:
        result.ignored.append(f"{provider}: {where} has no messages, statuses or errors")


def _each(
    value: JSON,
    key: str,
    provider: str,
    where: str,
    parse_one: Callable[[JSON], InboundMessage | StatusUpdate | str],
    result: ParseResult,
) -> bool:
    if key not in value:
        return False
    items = value[key]
    if not isinstance(items, list):
        result.ignored.append(f"{provider}: {where} {key} is not a list")
        return True
    for k, item in enumerate(items):
        result.add(
            parse_one(item) if isinstance(item, dict) else f"{provider}: {where} {key}[{k}] not an object"
        )
    return True


def _parse_echoes(value: JSON, provider: str, now: datetime, where: str, result: ParseResult) -> None:
    """Coexistence: what the business typed in the WhatsApp Business app; the lead is `to`."""
    business_id = get_str(get_dict(value, "metadata"), "phone_number_id")
    if not _each(
        value,
        "message_echoes",
        provider,
        where,
        lambda m: parse_message(m, [], business_id, provider, now, from_me=True),
        result,
    ):
        result.ignored.append(f"{provider}: {where} has no message_echoes")


def _sender(message: JSON, from_me: bool) -> tuple[str, bool] | None:
    number = get_str(message, "to" if from_me else "from")
    if number:
        return phones.identity(number, international=True) or (phones.meta_user(number), False)
    user_id = get_str(message, "to_user_id" if from_me else "from_user_id")
    return (phones.meta_user(user_id), False) if user_id else None


def _profile_name(message: JSON, contacts: list[JSON]) -> str:
    number, user_id = get_str(message, "from"), get_str(message, "from_user_id")
    for contact in contacts:
        if (number and get_str(contact, "wa_id") == number) or (
            user_id and get_str(contact, "user_id") == user_id
        ):
            return clean_name(get_str(get_dict(contact, "profile"), "name"))
    if len(contacts) == 1:
        return clean_name(get_str(get_dict(contacts[0], "profile"), "name"))
    return ""


def parse_message(
    message: JSON,
    contacts: list[JSON],
    business_id: str,
    provider: str,
    now: datetime,
    *,
    from_me: bool = False,
) -> InboundMessage | str:
    external_id = get_str(message, "id")
    sender = _sender(message, from_me)
    if not external_id or sender is None:
        return f"{provider}: message without {'id' if not external_id else 'sender'}"
    content = _content(message)
    return InboundMessage(
        provider=provider,
        external_id=external_id,
        business_id=business_id,
        sender=sender[0],
        sender_phone_known=sender[1],
        sender_name="" if from_me else _profile_name(message, contacts),
        sent_at=parse_timestamp(message.get("timestamp"), now),
        context_id=get_str(get_dict(message, "context"), "id"),
        from_me=from_me,
        raw=message,
        **content,
    )


def _content(message: JSON) -> dict[str, Any]:
    """The kind-specific fields of one message, as InboundMessage keyword arguments."""
    kind = get_str(message, "type")
    body = get_dict(message, kind) if kind else {}
    if kind == "text":
        return {"kind": Kind.TEXT, "text": get_str(body, "body")}
    if kind in _MEDIA_KINDS:
        return _media(kind, body)
    if kind == "location":
        return _location(body)
    if kind == "contacts":
        cards = contact_cards(get_list(message, "contacts"))
        return {"kind": Kind.CONTACTS, "contacts": cards, "text": contacts_text(cards)}
    if kind == "interactive":
        return _interactive(body)
    if kind == "button":
        title = get_str(body, "text")
        return {
            "kind": Kind.INTERACTIVE,
            "reply_id": get_str(body, "payload"),
            "reply_title": title,
            "text": title,
        }
    if kind == "reaction":
        emoji = get_str(body, "emoji")
        return {
            "kind": Kind.REACTION,
            "reaction_emoji": emoji,
            "reaction_to": get_str(body, "message_id"),
            "text": emoji,
        }
    # unknown/unsupported/system/order/…: kept whole in raw; `system` still says what happened.
    return {"kind": Kind.UNSUPPORTED, "text": get_str(body, "body")}


def _media(kind: str, body: JSON) -> dict[str, Any]:
    media = Media(
        id=get_str(body, "id"),
        url=first(get_str(body, "url"), get_str(body, "link")),
        mime_type=get_str(body, "mime_type"),
        caption=get_str(body, "caption"),
        filename=get_str(body, "filename"),
        sha256=get_str(body, "sha256"),
        voice=kind == "voice" or get_bool(body, "voice"),
    )
    return {"kind": _MEDIA_KINDS[kind], "media": media, "text": media.caption}


def _location(body: JSON) -> dict[str, Any]:
    lat, lon = get_float(body, "latitude"), get_float(body, "longitude")
    if lat is None or lon is None:
        return {"kind": Kind.UNSUPPORTED}
    place = Location(lat, lon, get_str(body, "name"), get_str(body, "address"), get_str(body, "url"))
    return {"kind": Kind.LOCATION, "location": place, "text": first(place.name, place.address)}


def _interactive(body: JSON) -> dict[str, Any]:
    sub = get_str(body, "type")
    reply = get_dict(body, sub) if sub else {}
    if sub == "nfm_reply":  # WhatsApp Flows: the form answers travel as a JSON string
        return {
            "kind": Kind.INTERACTIVE,
            "reply_title": get_str(reply, "name"),
            "text": get_str(reply, "response_json"),
        }
    title = get_str(reply, "title")
    return {"kind": Kind.INTERACTIVE, "reply_id": get_str(reply, "id"), "reply_title": title, "text": title}


def parse_status(status: JSON, business_id: str, provider: str, now: datetime) -> StatusUpdate | str:
    external_id = get_str(status, "id")
    name = get_str(status, "status").lower()
    if not external_id:
        return f"{provider}: status without id"
    if name not in STATUSES:
        return f"{provider}: status {name[:40]!r} is not known"
    error = next(iter(dicts(get_list(status, "errors"))), {})
    recipient = get_str(status, "recipient_id")
    who = phones.identity(recipient, international=True) if recipient else None
    return StatusUpdate(
        provider=provider,
        external_id=external_id,
        business_id=business_id,
        recipient=who[0] if who else recipient,
        status=STATUSES[name],
        at=parse_timestamp(status.get("timestamp"), now),
        error_code=get_str(error, "code"),
        error_title=get_str(error, "title"),
        error_reason=first(get_str(get_dict(error, "error_data"), "details"), get_str(error, "message")),
        raw=status,
    )
