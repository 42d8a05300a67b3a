"""One adapter per WhatsApp provider: pure `parse(payload) -> ParseResult`, no I/O.

Authentication lives in `signatures`, identity rules in `phones`, the shared event shapes in
`canonical`, and the mapping to the conversation contract in `wire`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from gateway.providers import dialog360, gupshup, meta, zapi
from gateway.providers.canonical import JSON, ParseResult

Parser = Callable[[JSON, datetime | None], ParseResult]

PARSERS: dict[str, Parser] = {
    zapi.PROVIDER: zapi.parse,
    dialog360.PROVIDER: dialog360.parse,
    gupshup.PROVIDER: gupshup.parse,
    meta.PROVIDER: meta.parse,
}
