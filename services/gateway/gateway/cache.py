"""A small TTL cache with single-flight loading, for lookups the gateway makes on every webhook.

Entries live `ttl` seconds (a settings change reaches every replica within that time); misses are
remembered for `negative_ttl` so a flood of unknown ids cannot turn into a flood of RPCs; concurrent
misses for one key share one load.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Missing(Exception):
    """Raised by a loader when the key has no value (cached as a miss)."""


class TtlCache(Generic[K, V]):
    def __init__(self, ttl: float, negative_ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[K, tuple[float, V | None]] = OrderedDict()
        self._loading: dict[K, asyncio.Future[V | None]] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V | None:
        """The value, or None when the loader said Missing. Loader errors propagate, uncached."""
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value: V | None = await load()
            self._store(key, value, self.ttl)
        except Missing:
            value = None
            self._store(key, None, self.negative_ttl)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: waiters re-raise it, nobody logs "never retrieved"
            raise
        finally:
            self._loading.pop(key, None)
        future.set_result(value)
        return value

    def _store(self, key: K, value: V | None, ttl: float) -> None:
        self._entries[key] = (time.monotonic() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def invalidate(self, key: K) -> None:
        self._entries.pop(key, None)
