"""Per-tenant counters for the runbook's soft/hard limits.

Fixed one-minute windows: in Redis when ``REDIS_URL`` is set (shared by every gateway replica,
one atomic INCR+EXPIRE script per hit), in process memory otherwise. Over a limit we never refuse
a provider: the caller stores the message anyway and only flags it.
"""

from __future__ import annotations

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


_INCR = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""


class RedisCounter:
    mode = "shared"

    def __init__(self, client: Any, prefix: str = "vellarys:limit:") -> None:
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_INCR)

    async def hit(self, key: str, window: int) -> int:
        bucket = int(time.time()) // window
        name = f"{self._prefix}{key}:{bucket}"
        return int(await self._script(keys=[name], args=[window * 2]))


@dataclass(frozen=True)
class TenantLimits:
    messages_per_minute_soft: int
    messages_per_minute_hard: int


async def message_level(counter: Counter, tenant_id: str, limits: TenantLimits) -> tuple[Level, int]:
    count = await counter.hit(f"msg:{tenant_id}", 60)
    return level(count, limits.messages_per_minute_soft, limits.messages_per_minute_hard), count
