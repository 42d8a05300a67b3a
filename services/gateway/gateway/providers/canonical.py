"""The provider-neutral shape of a webhook, plus the tolerant JSON getters every adapter uses.

Adapters are pure: a payload dict in, a `ParseResult` out, never an exception for an authentic but
odd payload. Anything we cannot turn into an event is named in `ParseResult.ignored`, so the caller
can log and count it instead of losing it silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from gateway.providers import phones

JSON = dict[str, Any]


class Kind(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"
    DOCUMENT = "document"
    STICKER = "sticker"
    LOCATION = "location"
    CONTACTS = "contacts"
    INTERACTIVE = "interactive"
    REACTION = "reaction"
    UNSUPPORTED = "unsupported"


class Status(StrEnum):
    """Outbound delivery states, in the order they may only move forward (failed/deleted are terminal)."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    PLAYED = "played"
    FAILED = "failed"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class Media:
    id: str = ""
    url: str = ""
    mime_type: str = ""
    caption: str = ""
    filename: str = ""
    sha256: str = ""
    voice: bool = False


@dataclass(frozen=True, slots=True)
class Location:
    latitude: float
    longitude: float
    name: str = ""
    address: str = ""
    url: str = ""


@dataclass(frozen=True, slots=True)
class Contact:
    name: str
    # E.164 where the number could be normalised, else the digits as the provider sent them.
    phones: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class InboundMessage:
    provider: str
    external_id: str
    # The channel the payload names (Z-API instanceId, Meta/360dialog phone_number_id, Gupshup app);
    # empty for formats that carry none (360dialog On-Premise), where the URL identifies the channel.
    business_id: str
    # The lead: E.164 when a phone, else a stable provider-scoped id (`lid:…@lid`, `meta-user:…`).
    # For from_me messages this is still the lead (the chat's other party), not the business.
    sender: str
    sender_phone_known: bool
    sender_name: str
    kind: Kind
    sent_at: datetime
    text: str = ""
    media: Media | None = None
    location: Location | None = None
    reply_id: str = ""
    reply_title: str = ""
    reaction_emoji: str = ""
    reaction_to: str = ""
    # The provider id of the message this one quotes or answers, when the lead used "reply".
    context_id: str = ""
    contacts: tuple[Contact, ...] = ()
    from_me: bool = False
    raw: JSON = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    provider: str
    # The provider id of our outbound message (Gupshup: its own id, the one its send API returned).
    external_id: str
    business_id: str
    recipient: str
    status: Status
    at: datetime
    error_code: str = ""
    error_title: str = ""
    error_reason: str = ""
    # A second id for the same message when the provider has two (Gupshup's WhatsApp id).
    secondary_id: str = ""
    raw: JSON = field(default_factory=dict, hash=False)


@dataclass(slots=True)
class ParseResult:
    messages: list[InboundMessage] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def add(self, item: InboundMessage | StatusUpdate | str) -> None:
        if isinstance(item, InboundMessage):
            self.messages.append(item)
        elif isinstance(item, StatusUpdate):
            self.statuses.append(item)
        else:
            self.ignored.append(item)


CONNECTIVITY_TEST = "connectivity test"


def connectivity_test(payload: Mapping[str, Any]) -> ParseResult | None:
    """The runbook's `{"test": true}` probe: answered, never stored."""
    if payload.get("test") is True and len(payload) == 1:
        return ParseResult(ignored=[CONNECTIVITY_TEST])
    return None


# --- tolerant getters: a wrong type reads as "absent", never as an exception ---------------------


def get_dict(data: Mapping[str, Any], key: str) -> JSON:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def get_list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    return value if isinstance(value, list) else []


def dicts(items: Iterable[Any]) -> list[JSON]:
    return [item for item in items if isinstance(item, dict)]


def get_str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


def get_float(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def get_bool(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key)
    return value is True or (isinstance(value, str) and value.lower() == "true")


def first(*values: str) -> str:
    return next((v for v in values if v), "")


# Anything above this is milliseconds: 1e11 seconds is the year 5138, 1e11 ms is 1973.
_MS_THRESHOLD = 100_000_000_000


def parse_timestamp(value: object, fallback: datetime) -> datetime:
    """Epoch seconds or milliseconds (number or numeric string) to an aware UTC datetime."""
    if isinstance(value, bool):
        return fallback
    number: float | None = None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return fallback
    if number is None or number <= 0:
        return fallback
    if number >= _MS_THRESHOLD:
        number /= 1000
    try:
        return datetime.fromtimestamp(number, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return fallback


def now_or(received_at: datetime | None) -> datetime:
    return received_at if received_at is not None else datetime.now(UTC)


def clean_name(name: str) -> str:
    """Providers echo the number as the name when there is none; that is not a name."""
    stripped = name.strip()
    digits = stripped.lstrip("+").replace(" ", "").replace("-", "")
    return "" if digits.isdigit() else stripped


def contact_cards(items: Iterable[Any]) -> tuple[Contact, ...]:
    """Cloud-API style shared contacts (Meta, 360dialog, Gupshup): name{formatted_name}, phones[]."""
    cards = []
    for card in dicts(items):
        name = get_dict(card, "name")
        full = first(
            get_str(name, "formatted_name"),
            " ".join(p for p in (get_str(name, "first_name"), get_str(name, "last_name")) if p),
        )
        numbers = [first(get_str(p, "wa_id"), get_str(p, "phone")) for p in dicts(get_list(card, "phones"))]
        cards.append(Contact(name=full, phones=normalised_phones(numbers)))
    return tuple(cards)


def normalised_phones(numbers: Iterable[str]) -> tuple[str, ...]:
    return tuple(phones.normalize_phone(n, international=True) or n for n in numbers if n)


def contacts_text(cards: Iterable[Contact]) -> str:
    return "\n".join(f"{c.name}: {', '.join(c.phones)}".strip(": ") for c in cards)
