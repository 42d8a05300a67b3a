"""Per-tenant counters for the runbook's soft/hard limits.

Fixed one-minute windows: in Redis when ``REDIS_URL`` is set (shared by every gateway replica),
in process memory otherwise. Over a limit we never refuse a provider: the caller stores the message
anyway and only flags it.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Level(enum.StrEnum):
    OK = "ok"
    SOFT = "soft"
    HARD = "hard"


def level(count: int, soft: int, hard: int) -> Level:
    if count > hard:
        return Level.HARD
    if count > soft:
        return Level.SOFT
    return Level.OK


class Counter(Protocol):
    mode: str

    async def hit(self, key: str, window: int) -> int:
        """Count one event in the current `window`-second window and return the window's total."""
        ...


class MemoryCounter:
    """One process's counters; right for a single replica, wrong for several (use Redis)."""

    mode = "in-process"

    def __init__(self, clock: Any = time.time) -> None:
        self._clock = clock
        self._counts: dict[tuple[str, int], int] = {}
        self._oldest = 0

    async def hit(self, key: str, window: int) -> int:
        bucket = int(self._clock()) // window
        if bucket != self._oldest:
            self._prune(bucket)
        slot = (key, bucket)
        self._counts[slot] = self._counts.get(slot, 0) + 1
        return self._counts[slot]

    def _prune(self, bucket: int) -> None:
        self._counts = {slot: n for slot, n in self._counts.items() if slot[1] >= bucket}
        self._oldest = bucket


class RedisCounter:
    """Counts in Redis, for every replica. The hits of one turn of the event loop leave together in
    one pipeline: per key one INCRBY of their number (and an EXPIRE), and each caller's total is its
    own place in that count, exactly what a round trip of its own would have answered. Under load
    that is one round trip for many webhooks instead of one each (the bench measured 0.2 ms of the
    gateway's CPU per webhook for the round trips alone)."""

    mode = "shared"

    def __init__(self, client: Any, prefix: str = "vellarys:limit:") -> None:
        self._client = client
        self._prefix = prefix
        # Key name -> (expiry in seconds, the callers waiting for their totals).
        self._pending: dict[str, tuple[int, list[asyncio.Future[int]]]] = {}
        self._sending: set[asyncio.Task[None]] = set()

    async def hit(self, key: str, window: int) -> int:
        bucket = int(time.time()) // window
        name = f"{self._prefix}{key}:{bucket}"
        loop = asyncio.get_running_loop()
        if not self._pending:
            loop.call_soon(self._send_pending)
        future: asyncio.Future[int] = loop.create_future()
        self._pending.setdefault(name, (window * 2, []))[1].append(future)
        return await future

    def _send_pending(self) -> None:
        pending, self._pending = self._pending, {}
        task = asyncio.get_running_loop().create_task(self._send(pending))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, pending: dict[str, tuple[int, list[asyncio.Future[int]]]]) -> None:
        try:
            pipe = self._client.pipeline(transaction=False)
            for name, (expiry, waiters) in pending.items():
                pipe.incrby(name, len(waiters))
                pipe.expire(name, expiry)
            answers = await pipe.execute()
        except Exception as error:  # every caller gets it, as from its own round trip
            for _, waiters in pending.values():
                for future in waiters:
                    if not future.done():
                        future.set_exception(error)
            return
        for (_, waiters), total in zip(pending.values(), answers[::2], strict=True):
            before = int(total) - len(waiters)
            for place, future in enumerate(waiters, 1):
                if not future.done():
                    future.set_result(before + place)


@dataclass(frozen=True)
class TenantLimits:
    messages_per_minute_soft: int
    messages_per_minute_hard: int


async def message_level(counter: Counter, tenant_id: str, limits: TenantLimits) -> tuple[Level, int]:
    count = await counter.hit(f"msg:{tenant_id}", 60)
    return level(count, limits.messages_per_minute_soft, limits.messages_per_minute_hard), count
