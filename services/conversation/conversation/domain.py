"""Pure rules of the conversation context."""

from __future__ import annotations

import json
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
class Ingested:
    lead_id: str
    message_id: str
    created: bool
    lead_created: bool


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
