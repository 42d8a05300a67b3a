"""Pure rules of the conversation context."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

DIRECTIONS = ("inbound", "outbound_human", "outbound_ai")
OWNERS = ("ai", "human", "nobody")


@dataclass(frozen=True)
class Inbound:
    """One provider message, as the gateway normalised it."""

    provider: str
    external_id: str
    sender: str
    sender_name: str = ""
    channel_id: str = ""
    kind: str = "text"
    text: str = ""
    media: dict[str, Any] | None = None
    location: dict[str, Any] | None = None
    reply_id: str = ""
    sent_at: datetime | None = None
    from_me: bool = False
    raw_json: str = ""

    @property
    def direction(self) -> str:
        # A message the business sent from its own phone is a human reply in the lead's conversation.
        return "outbound_human" if self.from_me else "inbound"


@dataclass(frozen=True)
class Limits:
    """The gateway's view of the tenant's limits for one message (levels: ok, soft, hard)."""

    messages_per_minute: str = "ok"
    tenant_suspended: bool = False
    # 0 disables a threshold.
    new_leads_soft: int = 0
    new_leads_hard: int = 0


@dataclass(frozen=True)
class Ingested:
    lead_id: str
    message_id: str
    created: bool
    lead_created: bool
    conversation_id: str = ""
    auto_reply: bool = False
    auto_reply_blocked: str = ""
    soft_limits_hit: tuple[str, ...] = ()


def leads_level(count: int, soft: int, hard: int) -> str:
    """Same rule as the gateway's counters: over a threshold (count > limit), not at it."""
    if hard and count > hard:
        return "hard"
    if soft and count > soft:
        return "soft"
    return "ok"


def blocked_reason(limits: Limits, leads: str) -> str:
    """Why a message gets no automatic reply; the most fundamental reason wins."""
    if limits.tenant_suspended:
        return "tenant_suspended"
    if limits.messages_per_minute == "hard":
        return "messages_per_minute_hard"
    if leads == "hard":
        return "leads_per_day_hard"
    return ""


def soft_hits(limits: Limits, leads: str) -> tuple[str, ...]:
    hits = []
    if limits.messages_per_minute == "soft":
        hits.append("messages_per_minute_soft")
    if leads == "soft":
        hits.append("leads_per_day_soft")
    return tuple(hits)


# A status replaces the current one only when its rank is strictly higher, so statuses never go back.
# failed sits between sent and delivered: it ends a queued/sent message, a late "sent" cannot undo it,
# but delivered/read/played (proof the message reached the phone) do override it, and a failure
# reported after such proof is kept as an event without changing the message.
STATUS_RANK = {"queued": 10, "sent": 20, "failed": 25, "delivered": 30, "read": 40, "played": 50}
LEAD_STATUSES = ("new", "qualified", "in_progress", "won", "lost", "opted_out")
HUMAN_FROM_PHONE = "human_message_from_phone"


def clean(value: str) -> str:
    """Postgres text cannot hold NUL; a provider sending one must not make us lose the message."""
    return value.replace("\x00", "").strip()


def raw_payload(raw_json: str) -> Any:
    """The provider payload as JSON; text that isn't JSON is kept as a string rather than dropped."""
    if not raw_json:
        return None
    try:
        return json.loads(raw_json.replace("\\u0000", ""))
    except ValueError:
        return clean(raw_json)


def encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    """An opaque keyset position; clients only hand it back."""
    raw = json.dumps([at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID] | None:
    """The position in a cursor, or None when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, row_id = json.loads(raw)
        position = datetime.fromisoformat(at), uuid.UUID(row_id)
    except (ValueError, TypeError):
        return None
    return position if position[0].tzinfo is not None else None


@dataclass(frozen=True)
class LeadFilters:
    status: str = ""
    assigned_user_id: uuid.UUID | None = None
    # Only leads assigned to this user or to nobody (a seller's view, or an admin's "mine").
    visible_to: uuid.UUID | None = None
    query: str = ""
    created_from: datetime | None = None
    created_to: datetime | None = None
    active_from: datetime | None = None
    active_to: datetime | None = None


def like_pattern(term: str) -> str:
    """A LIKE pattern matching `term` anywhere, with the user's own % and _ taken literally."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class StatusUpdate:
    provider: str
    provider_message_id: str
    # queued, sent, delivered, read, played, failed
    status: str
    error_code: str = ""
    error_title: str = ""
    at: datetime | None = None


@dataclass(frozen=True)
class StatusResult:
    found: bool
    created: bool
    message_status: str
