"""Health: a cheap liveness answer and a detailed, cached check of every dependency."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from kit import rpc
from kit.config import SERVICES

router = APIRouter(tags=["health"])

# Without these the reply path cannot store what a lead sends: their failure is a 503.
CRITICAL = {"database", "tenant", "conversation"}


@dataclass
class DetailedHealth:
    """Runs the checks at most once per `cache_seconds`; concurrent callers share one run."""

    checks: dict[str, Callable[[], Awaitable[Any]]]
    timeout: float
    cache_seconds: float
    _last: tuple[float, dict[str, Any]] | None = None
    _running: asyncio.Task[dict[str, Any]] | None = None

    async def _one(self, name: str, check: Callable[[], Awaitable[Any]]) -> dict[str, Any]:
        started = time.perf_counter()
        result: dict[str, Any] = {"critical": name in CRITICAL}
        try:
            detail = await asyncio.wait_for(check(), self.timeout)
            result["status"] = "ok" if detail in (None, True, "SERVING") else "down"
            if isinstance(detail, str):
                result["detail"] = detail
        except TimeoutError:
            result.update(status="down", detail=f"no answer within {self.timeout:g}s")
        except Exception as exc:
            result.update(status="down", detail=_describe(exc))
        result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
        return result

    async def _run(self) -> dict[str, Any]:
        names = list(self.checks)
        results = await asyncio.gather(*(self._one(n, self.checks[n]) for n in names))
        checks = dict(zip(names, results, strict=True))
        down = {n for n, r in checks.items() if r["status"] != "ok"}
        status = "down" if down & CRITICAL else "degraded" if down else "ok"
        return {"status": status, "checks": checks}

    async def report(self) -> dict[str, Any]:
        now = time.monotonic()
        if self._last and now - self._last[0] < self.cache_seconds:
            return self._last[1]
        if self._running is None or self._running.done():
            self._running = asyncio.create_task(self._run())
        report = await asyncio.shield(self._running)
        self._last = (time.monotonic(), report)
        return report


def _describe(exc: Exception) -> str:
    details = getattr(exc, "details", None)
    if callable(details):
        return f"{exc.code().name}: {details()}"  # type: ignore[attr-defined]
    return f"{type(exc).__name__}: {exc}"[:200]


def build_checks(
    clients_channels: dict[str, Any],
    database: Callable[[], Awaitable[bool]],
    redis_ping: Callable[[], Awaitable[Any]] | None,
) -> dict[str, Callable[[], Awaitable[Any]]]:
    checks: dict[str, Callable[[], Awaitable[Any]]] = {"database": database}
    if redis_ping is not None:
        checks["redis"] = redis_ping
    for name in SERVICES:
        checks[name] = functools.partial(rpc.check_health, clients_channels[name])
    return checks


@router.get("/api/health", summary="Liveness: the gateway process is up")
async def health(request: Request) -> dict[str, Any]:
    return {"status": "ok", "service": "gateway", "mode": request.app.state.mode}


@router.get(
    "/api/health/detailed",
    summary="Readiness of every dependency, with latencies",
    responses={503: {"description": "a critical dependency (database, tenant, conversation) is down"}},
)
async def health_detailed(request: Request) -> JSONResponse:
    report = await request.app.state.detailed_health.report()
    body = {**report, "mode": request.app.state.mode}
    return JSONResponse(body, status_code=503 if report["status"] == "down" else 200)
