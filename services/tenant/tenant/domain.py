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


ROLES = ("superadmin", "admin", "seller", "viewer")
# Roles that count as a tenant's administrators for the last-admin rule.
ADMIN_ROLES = ("superadmin", "admin")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
PHONE_E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
MIN_PASSWORD = 12
MAX_PASSWORD = 256


def normalise_email(email: str) -> str:
    return email.strip().lower()


def valid_email(email: str) -> bool:
    return len(email) <= 254 and EMAIL.fullmatch(email) is not None


def valid_phone(phone: str) -> bool:
    return phone == "" or PHONE_E164.fullmatch(phone) is not None


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return f"password must have at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"password must have at most {MAX_PASSWORD} characters"
    return None


def new_password() -> str:
    """A temporary password: 20 URL-safe characters (~120 bits)."""
    return secrets.token_urlsafe(15)


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)
