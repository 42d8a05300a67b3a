"""One identity per person, whatever shape the provider wrote the number in.

Canonical form: E.164 (`+` and digits). Brazilian mobiles are always stored in the 13-digit form with
the ninth digit (`+55 DD 9XXXX-XXXX`): Meta and Gupshup may deliver the legacy 12-digit form without it
(`wa_id` "mismatch"), so a 12-digit `55…` number whose subscriber part starts with 6–9 (the old mobile
ranges) gets the 9 inserted. Landlines (subscriber starting 2–5) keep their 8 digits.

Numbers without a country code are read as Brazilian when they have 10–11 digits (DDD + number).
Provider webhooks always carry the country code, so adapters call with `international=True` and a
foreign number like the US `15550783881` is never mistaken for a São Paulo one.

Non-phone identities: Z-API `…@lid` → `lid:<digits>@lid`, Meta users without a phone →
`meta-user:<id>`. Groups (`@g.us`, Z-API `…-group`) are not people and yield no identity.
"""

from __future__ import annotations

import re

LID_PREFIX = "lid:"
META_USER_PREFIX = "meta-user:"
_PHONE_DOMAINS = frozenset({"c.us", "s.whatsapp.net"})
_SEPARATORS = re.compile(r"[\s\-().\u00a0/]")
_MIN_DIGITS, _MAX_DIGITS = 8, 15


def normalize_phone(raw: str, *, international: bool = False) -> str | None:
    """E.164 for anything that is a phone number, None for anything that is not."""
    text = raw.strip()
    if "@" in text:
        local, _, domain = text.partition("@")
        if domain.lower() not in _PHONE_DOMAINS:
            return None
        text = local.split(":", 1)[0]  # multi-device JIDs: 5541…:12@s.whatsapp.net
    explicit_plus = text.startswith("+")
    digits = _SEPARATORS.sub("", text.removeprefix("+"))
    if not (digits.isascii() and digits.isdigit()):
        return None
    with_country = digits if explicit_plus else _add_country_code(digits, international)
    if with_country is None or with_country.startswith("0"):
        return None
    if not _MIN_DIGITS <= len(with_country) <= _MAX_DIGITS:
        return None
    return "+" + _brazil_ninth_digit(with_country)


def _add_country_code(digits: str, international: bool) -> str | None:
    if digits.startswith("00"):  # international dialling prefix
        return digits[2:]
    if digits.startswith("0"):  # national trunk prefix, optionally with a 2-digit carrier code
        rest = digits[1:]
        if len(rest) in (10, 11):
            return "55" + rest
        if len(rest) in (12, 13):
            return "55" + rest[2:]
        return None
    if not international and len(digits) in (10, 11):
        return "55" + digits
    return digits


def _brazil_ninth_digit(digits: str) -> str:
    if len(digits) != 12 or not digits.startswith("55"):
        return digits
    ddd, subscriber = digits[2:4], digits[4:]
    if "0" in ddd or subscriber[0] not in "6789":
        return digits
    return f"55{ddd}9{subscriber}"


def identity(raw: str, *, international: bool = False) -> tuple[str, bool] | None:
    """(stable identity, is_a_phone) for a person, None for groups, channels and garbage."""
    text = raw.strip()
    if text.startswith((LID_PREFIX, META_USER_PREFIX)):
        return (text, False) if len(text.split(":", 1)[1]) > 0 else None
    if text.lower().endswith("@lid"):
        local = text[: -len("@lid")].split(":", 1)[0]
        return (f"{LID_PREFIX}{local}@lid", False) if local.isdigit() else None
    phone = normalize_phone(text, international=international)
    return (phone, True) if phone else None


def meta_user(user_id: str) -> str:
    return f"{META_USER_PREFIX}{user_id}"


def is_group(raw: str) -> bool:
    text = raw.strip().lower()
    return text.endswith(("@g.us", "-group", "@newsletter", "@broadcast"))


def same_person(a: str, b: str) -> bool:
    """True when both strings name the same person (never for two unparseable strings)."""
    left, right = identity(a), identity(b)
    return left is not None and right is not None and left[0] == right[0]


def mask(identity_: str) -> str:
    """For logs: keep the country/area prefix and the last two digits only."""
    if len(identity_) <= 6:
        return "***"
    return f"{identity_[:5]}***{identity_[-2:]}"
