"""Checks on the model's reply before a lead sees it: canary leaks, unbacked prices, length."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ai.extract import AMOUNT, SCALE, parse_amount
from kit.text import fold_letters

MONEY = re.compile(
    rf"r\$\s*({AMOUNT})(?:\s*({SCALE})\b)?|\b({AMOUNT})\s*({SCALE})?\s*(?:de\s+)?reais\b|\b({AMOUNT})\s*({SCALE})\b"
)
# A price said as "R$ 850 mil" for a listing at R$ 849.900 is the same price.
TOLERANCE = 0.02
SENTENCE_END = re.compile(r"[.!?…](?=\s|$)")


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", fold_letters(text))


def leaks_canary(text: str, canary: str) -> bool:
    """Also catches the canary spelled with spaces or dashes, or in another case."""
    return bool(canary) and _squash(canary) in _squash(text)


def amounts(text: str) -> list[int]:
    found = []
    for match in MONEY.finditer(fold_letters(text)):
        groups = match.groups()
        for amount, scale in zip(groups[::2], groups[1::2], strict=True):
            if amount:
                found.append(parse_amount(amount, scale))
                break
    return found


def backed(value: int, allowed: Iterable[int]) -> bool:
    return any(abs(value - a) <= max(1, a * TOLERANCE) for a in allowed if a > 0)


def unbacked_amounts(text: str, allowed: Iterable[int]) -> list[int]:
    allowed = list(allowed)
    return [v for v in amounts(text) if not backed(v, allowed)]


def cap_length(text: str, max_chars: int) -> str:
    """At most `max_chars`, cut after the last whole sentence when there is one."""
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    ends = [m.end() for m in SENTENCE_END.finditer(head)]
    if ends and ends[-1] > max_chars // 2:
        return head[: ends[-1]].strip()
    return head[: max_chars - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"
