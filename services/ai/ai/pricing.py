"""Estimated cost of a call: USD per 1M tokens (input, output), from OpenAI's public price list.

Snapshot names ("gpt-4o-2024-08-06") use their family's price. Unknown models have no estimate
(NULL in the call log) rather than a wrong one.
"""

from __future__ import annotations

from decimal import Decimal

PRICES: dict[str, tuple[Decimal, Decimal]] = {
    "gpt-4o": (Decimal("2.50"), Decimal("10.00")),
    "gpt-4o-mini": (Decimal("0.15"), Decimal("0.60")),
    "gpt-4.1": (Decimal("2.00"), Decimal("8.00")),
    "gpt-4.1-mini": (Decimal("0.40"), Decimal("1.60")),
    "gpt-4.1-nano": (Decimal("0.10"), Decimal("0.40")),
    "gpt-3.5-turbo": (Decimal("0.50"), Decimal("1.50")),
    "offline": (Decimal(0), Decimal(0)),
    "rules": (Decimal(0), Decimal(0)),
}
MILLION = Decimal(1_000_000)


def price_of(model: str) -> tuple[Decimal, Decimal] | None:
    # Longest prefix first, so "gpt-4o-mini-2024-07-18" is not priced as "gpt-4o".
    for name in sorted(PRICES, key=len, reverse=True):
        if model == name or model.startswith(name + "-"):
            return PRICES[name]
    return None


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int) -> Decimal | None:
    price = price_of(model)
    if price is None:
        return None
    return (price[0] * prompt_tokens + price[1] * completion_tokens) / MILLION
