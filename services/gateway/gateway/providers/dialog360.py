"""360dialog webhooks: the Cloud-API ("v2") format, identical to Meta's, and the legacy On-Premise one.

On-Premise bodies have no `object`/`entry` wrapper (top-level `contacts`/`messages`/`statuses`) and
name no business number: one webhook URL per number, so the channel comes from the URL and
`business_id` is left empty.
"""

from __future__ import annotations

from datetime import datetime

from gateway.providers import meta
from gateway.providers.canonical import JSON, ParseResult, connectivity_test, now_or

PROVIDER = "dialog360"
_ON_PREMISE_KEYS = ("messages", "statuses", "contacts", "errors")


def parse(payload: JSON, received_at: datetime | None = None) -> ParseResult:
    test = connectivity_test(payload)
    if test is not None:
        return test
    now = now_or(received_at)
    if "entry" in payload or "object" in payload:
        return meta.parse_envelope(payload, PROVIDER, now)
    if any(key in payload for key in _ON_PREMISE_KEYS):
        result = ParseResult()
        meta.parse_value(payload, PROVIDER, now, "on-premise body", result)
        return result
    keys = ", ".join(sorted(str(k)[:20] for k in payload)[:8])
    return ParseResult(ignored=[f"{PROVIDER}: unrecognised payload (keys: {keys or 'none'})"])
