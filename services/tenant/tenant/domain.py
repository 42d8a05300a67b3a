"""Pure rules of the tenant context."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

SLUG = re.compile(r"^[a-z0-9](-?[a-z0-9])*$")
MAX_SLUG = 63
PROVIDERS = ("zapi", "dialog360", "gupshup", "meta")


@dataclass(frozen=True)
class PlanLimits:
    """The seed runbook's defaults; each tenant's values are editable."""

    leads_per_day_soft: int = 500
    leads_per_day_hard: int = 2000
    messages_per_minute_soft: int = 100
    messages_per_minute_hard: int = 500

    def problems(self) -> list[str]:
        found = []
        for name in ("leads_per_day", "messages_per_minute"):
            soft, hard = getattr(self, f"{name}_soft"), getattr(self, f"{name}_hard")
            if soft <= 0 or hard <= 0:
                found.append(f"{name} limits must be positive")
            elif soft > hard:
                found.append(f"{name}_soft ({soft}) must not exceed {name}_hard ({hard})")
        return found


def valid_slug(slug: str) -> bool:
    return len(slug) <= MAX_SLUG and SLUG.fullmatch(slug) is not None


def new_webhook_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
