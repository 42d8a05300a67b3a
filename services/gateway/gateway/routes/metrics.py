"""GET /metrics: Prometheus text of this gateway process (HTTP, webhook, per-tenant message and limit
counters; process memory/CPU from prometheus_client's default collectors).

Cheap by construction, so a scraper (or anyone who can reach the port) cannot load the gateway: no
I/O, in-memory counters only, and the rendered text is reused for `CACHE_SECONDS`, so a flood of
scrapes costs at most one render per second. It is not behind auth because Prometheus scrapes pods
directly; in Kubernetes the NetworkPolicy lets only the monitoring namespace reach it, and the
public Ingress must not route /metrics (tenant ids appear in per-tenant labels, never phones or text).
"""

from __future__ import annotations

import time

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

router = APIRouter(tags=["health"])
CACHE_SECONDS = 1.0
_cached: tuple[float, bytes] = (0.0, b"")


def render() -> bytes:
    global _cached
    at, body = _cached
    if time.monotonic() - at >= CACHE_SECONDS or not body:
        body = generate_latest(REGISTRY)
        _cached = (time.monotonic(), body)
    return body


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    # Rendering is a few milliseconds of CPU at most once per CACHE_SECONDS: fine on the loop.
    return Response(render(), media_type=CONTENT_TYPE_LATEST)
