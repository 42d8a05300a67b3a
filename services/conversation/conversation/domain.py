"""Pure rules of the conversation context."""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from kit.text import fold_letters

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
class Debounce:
    """How long a reply waits for more messages: `seconds` after the last one, at most `max_wait`
    after the first one of the burst (so a lead typing non-stop still gets an answer)."""

    seconds: float = 3.0
    max_wait: float = 9.0


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
    reply_scheduled: bool = False


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
# A reply job's last_error when the model failed and ai answered with the fallback: this, then ai's
# outcome ("model fallback"). The diagnosis reads it when ai's call log has no row for the reply.
MODEL_FAILED_PREFIX = "model "


def clean(value: str) -> str:
    """Postgres text cannot hold NUL; a provider sending one must not make us lose the message."""
    return value.replace("\x00", "").strip()


def raw_payload(raw_json: str) -> Any:
    """The provider payload as JSON; text that isn't JSON (to Postgres) is kept as a string rather
    than dropped."""
    text = raw_payload_text(raw_json)
    return None if text is None else json.loads(text)


def raw_payload_text(raw_json: str) -> str | None:
    """raw_payload as JSON text for a jsonb parameter: the provider's own text when it is JSON that
    Postgres takes (orjson refuses what jsonb refuses: NaN, lone surrogate escapes), so it is not
    parsed into Python and encoded again; anything else kept as a JSON string."""
    if not raw_json:
        return None
    text = raw_json.replace("\\u0000", "")
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return orjson.dumps(clean(raw_json)).decode()
    return text


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


# Ownership transitions, stored as owner_changed events with one of these reasons.
OWNER_CHANGED = "owner_changed"
TAKEOVER = "takeover"
RETURN_TO_AI = "return_to_ai"
AI_HANDOFF = "ai_handoff"
SELLER_MESSAGE = "seller_message"
WINDOW_CLOSED = "model_unavailable_window_closed"
WINDOW = timedelta(hours=24)
# Namespace of the deterministic ids of a job's messages: a re-run of the same job computes the same
# id, so the insert and notify's SendMessage (idempotent on it) can never send a reply twice.
REPLY_NAMESPACE = uuid.UUID("6f1b7c52-3a51-4f0e-9a57-6c1d2b9d6a10")


def job_message_id(job_id: uuid.UUID, purpose: str) -> uuid.UUID:
    """The id of a job's reply ("reply") or of its one fallback ("fallback")."""
    return uuid.uuid5(REPLY_NAMESPACE, f"{job_id}:{purpose}")


def retry_delay(attempts: int, first: float, cap: float) -> float:
    """Seconds before the next run of a job whose model failed: first, doubling, at most cap."""
    return float(min(cap, first * 2 ** max(attempts - 1, 0)))


def window_open(last_inbound_at: datetime | None, now: datetime) -> bool:
    """WhatsApp's customer-service window: 24 h from the lead's last message (unknown = open)."""
    return last_inbound_at is None or now < last_inbound_at + WINDOW


# A copy of ai.optout's opt-in recogniser (the ai service stays the one that decides; this only lets
# an opted-out lead's "VOLTAR" reach it). Move both to kit when a third user appears.
_OPT_IN_WORDS = r"voltar|assinar|start|reativar"
_FILLER = r"(?:\s*(?:por favor|pfv|pf|obrigad[oa]|quero|eu|me|agora|ok|please|[.!,;]))*"
_OPT_IN = re.compile(rf"^{_FILLER}\s*(?:{_OPT_IN_WORDS}){_FILLER}\s*$")
_OPT_IN_PHRASES = re.compile(
    r"\b(quero voltar a receber|pode(m)? voltar a (me )?mandar|quero receber de novo)\b"
)
_MAX_COMMAND_CHARS = 80


def is_opt_in(text: str) -> bool:
    cleaned = re.sub(r"[^\w\s.!,;]", " ", fold_letters(text)).strip()[:500]
    if not cleaned:
        return False
    command = len(cleaned) <= _MAX_COMMAND_CHARS and _OPT_IN.match(cleaned)
    return bool(command or _OPT_IN_PHRASES.search(cleaned))


@dataclass(frozen=True)
class Outgoing:
    """A stored outbound message to hand to notify (idempotent there on message_id)."""

    tenant_id: uuid.UUID
    message_id: uuid.UUID
    recipient: str
    text: str
    channel_id: uuid.UUID | None
    window_open: bool
