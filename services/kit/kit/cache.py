"""A small TTL cache with single-flight loading and stale-while-revalidate, for lookups made on
every request (the gateway's channels, notify's channel credentials).

A stored value is fresh for a random time in [ttl × (1 - jitter), ttl] (jitter 0.25 by default, 0
turns it off): entries filled in the same second then go stale over a quarter of the ttl instead of
all at once, so their refreshes do not reach the loader's service together. Jitter only shortens:
no entry is fresh for longer than `ttl`.

After that the entry is stale: it is still served at once, and the first request that sees it stale
starts one background refresh (single-flight, per key), so a popular key never makes a request wait
on a load. A value is never served once it is `max_stale` seconds old (default 3 × ttl): past that
the caller waits for the load, as for a miss. A failed background refresh is logged at warning level
(the error's type only, never the key or value) and the stale value keeps being served until
`max_stale`, with another attempt at most every `retry_after` seconds (default min(ttl, 1 s)).

Freshness bound: an answer is at most `max_stale` seconds old, so a change at the source reaches the
callers within `max_stale`. While the loader answers, a key in use is refreshed by the first request
after at most `ttl`, so the change shows within `ttl` plus one load.

Misses (the loader raised Missing) are remembered for at most `negative_ttl` (jittered the same
way), never served stale, so a flood of unknown keys cannot turn into a flood of loads and a new key
is seen within `negative_ttl`; a refresh that finds the key gone replaces the value with a miss.
Concurrent loads of one key share one call to the loader. At most `max_entries` keys are kept; the
least recently stored goes first.

`expire_all()` is for a source that can say "something changed" (the gateway's channels poll
tenant's routing epoch): every value becomes stale at once (served while its refresh runs, as
above), every miss is forgotten, and a load that was in flight stores its answer already stale,
since it may have read the source before the change. `expire_where()` does the same for the keys
it picks (the ai service's caches, when tenant says which tenants' data changed).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

log = logging.getLogger(__name__)


class Missing(Exception):
    """Raised by a loader when the key has no value (cached as a miss)."""


@dataclass(slots=True)
class _Entry(Generic[V]):
    value: V | None
    fresh_until: float
    stale_until: float  # served (stale) until then; == fresh_until for misses
    retry_at: float = 0.0  # no background refresh before then (set after a failed one)


def jittered(ttl: float, jitter: float) -> float:
    """A freshness in [ttl × (1 - jitter), ttl]: shorter only, never past the promised ttl."""
    return ttl * (1.0 - jitter * random.random())


class TtlCache(Generic[K, V]):
    def __init__(
        self,
        ttl: float,
        negative_ttl: float,
        max_entries: int = 10_000,
        *,
        jitter: float = 0.25,
        max_stale: float | None = None,
        retry_after: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        name: str = "cache",
    ) -> None:
        if not 0 <= jitter <= 1:
            raise ValueError(f"jitter must be within [0, 1], not {jitter}")
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self.max_entries = max_entries
        self.jitter = jitter
        self.max_stale = max(ttl, 3 * ttl if max_stale is None else max_stale)
        self.retry_after = min(ttl, 1.0) if retry_after is None else retry_after
        self.name = name
        self._clock = clock
        self._entries: OrderedDict[K, _Entry[V]] = OrderedDict()
        self._loading: dict[K, asyncio.Future[V | None]] = {}
        self._refreshes: set[asyncio.Task[None]] = set()  # strong references while they run
        self._generation = 0  # moved by expire_all: loads begun before it store stale answers
        self._expired_loads: set[K] = set()  # loads in flight that expire_where() made stale

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V | None:
        """The value, or None when the loader said Missing. Loader errors propagate, uncached."""
        now = self._clock()
        entry = self._entries.get(key)
        if entry is not None:
            if now < entry.fresh_until:
                return entry.value
            if now < entry.stale_until:
                if key not in self._loading and now >= entry.retry_at:
                    self._refresh_in_background(key, load)
                return entry.value
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        return await self._load(key, load, future)

    def invalidate(self, key: K) -> None:
        self._entries.pop(key, None)

    def expire_all(self) -> None:
        """The source changed: refresh every value on its next use, forget every miss."""
        self._generation += 1
        self._expire(list(self._entries))

    def expire_where(self, changed: Callable[[K], bool]) -> None:
        """Part of the source changed: what expire_all() does, for the keys `changed` picks only
        (a load of one of them in flight stores its answer already stale)."""
        self._expired_loads.update(key for key in self._loading if changed(key))
        self._expire([key for key in self._entries if changed(key)])

    def _expire(self, keys: list[K]) -> None:
        now = self._clock()
        for key in keys:
            entry = self._entries[key]
            if entry.value is None:
                del self._entries[key]
            else:
                entry.fresh_until = min(entry.fresh_until, now)
                entry.retry_at = 0.0

    async def wait_for_refreshes(self) -> None:
        """Until the background refreshes running now have finished (tests, shutdown)."""
        if self._refreshes:
            await asyncio.gather(*self._refreshes, return_exceptions=True)

    def _refresh_in_background(self, key: K, load: Callable[[], Awaitable[V]]) -> None:
        # Registered before the task starts, so no other caller can start a second refresh.
        future: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        task = asyncio.create_task(self._refresh(key, load, future))
        self._refreshes.add(task)
        task.add_done_callback(self._refreshes.discard)

    async def _refresh(
        self, key: K, load: Callable[[], Awaitable[V]], future: asyncio.Future[V | None]
    ) -> None:
        try:
            await self._load(key, load, future)
        except Exception as error:
            entry = self._entries.get(key)
            if entry is not None:
                entry.retry_at = self._clock() + self.retry_after
            # The error's type (and gRPC code) only: messages and keys may carry ids or secrets.
            code = getattr(error, "code", None)
            log.warning(
                "%s: background refresh failed (%s%s); serving the cached value until it is %.0f s old",
                self.name,
                type(error).__name__,
                f" {code()}" if callable(code) else "",
                self.max_stale,
            )

    async def _load(
        self, key: K, load: Callable[[], Awaitable[V]], future: asyncio.Future[V | None]
    ) -> V | None:
        generation = self._generation
        try:
            value: V | None = await load()
            current = generation == self._generation and key not in self._expired_loads
            self._store(key, value, jittered(self.ttl, self.jitter) if current else 0.0, self.max_stale)
        except Missing:
            value = None
            if generation == self._generation and key not in self._expired_loads:
                fresh = jittered(self.negative_ttl, self.jitter)
                self._store(key, None, fresh, fresh)
        except BaseException as error:
            if isinstance(error, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(error)
                future.exception()  # retrieved: waiters re-raise it, nobody logs "never retrieved"
            raise
        finally:
            self._loading.pop(key, None)
            self._expired_loads.discard(key)
        future.set_result(value)
        return value

    def _store(self, key: K, value: V | None, fresh_for: float, stale_for: float) -> None:
        now = self._clock()
        self._entries[key] = _Entry(value, now + fresh_for, now + stale_for)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
