"""Follow a counter that moves whenever a cached source may have changed (tenant's epochs).

A cache that polls one small counter every second can keep its answers for long and still show a
change within about a second: when the counter moves, every answer is due for a refresh. The
gateway follows tenant's routing epoch for its channels, ai the reply-data epoch for the tenants'
settings and catalogs. While the counter cannot be read the caches fall back on their own ttl.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

import grpc
from opentelemetry import context as otel_context
from opentelemetry import trace

# A context whose trace is never sampled: calls made in it tell the callee (parent-based sampling)
# not to trace them either. A poll a second is not worth a trace.
NEVER_SAMPLED = trace.set_span_in_context(
    trace.NonRecordingSpan(
        trace.SpanContext(
            trace_id=random.getrandbits(128) | 1,
            span_id=random.getrandbits(64) | 1,
            is_remote=False,
            trace_flags=trace.TraceFlags(trace.TraceFlags.DEFAULT),
        )
    )
)


async def follow(
    read: Callable[[], Awaitable[int]],
    changed: Callable[[], None],
    every: float,
    *,
    what: str,
    meanwhile: str,
    log: logging.Logger,
) -> None:
    """Call read() every `every` seconds, forever, and changed() whenever its answer differs from
    the one before. A failure is logged once (`what` unreadable, then `meanwhile`), and once more
    when the counter can be read again; the poll never stops."""
    otel_context.attach(NEVER_SAMPLED)
    seen: int | None = None
    failing = False
    while True:
        try:
            epoch = await read()
        except Exception as error:  # the poll must outlive any failure: the ttl is the backstop
            if not failing:
                code = error.code().name if isinstance(error, grpc.aio.AioRpcError) else ""
                log.warning(
                    "%s unreadable (%s%s): %s",
                    what,
                    type(error).__name__,
                    f" {code}" if code else "",
                    meanwhile,
                )
            failing = True
        else:
            if failing:
                log.info("%s readable again", what)
            if seen is not None and epoch != seen:
                changed()
            seen, failing = epoch, False
        await asyncio.sleep(every)
