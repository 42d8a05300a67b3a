"""TtlCache's stale-while-revalidate, on a controlled clock: no wall-clock timing anywhere."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from kit.cache import Missing, TtlCache

# A cache that makes a caller wait on a hung load hangs the test: fail it instead.
pytestmark = pytest.mark.timeout(10)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Loader:
    """Returns (or raises) the given results in order; `gate` holds calls until it is set."""

    def __init__(self, *results: object) -> None:
        self.results = list(results)
        self.calls = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self) -> str:
        self.calls += 1
        await self.gate.wait()
        result = self.results.pop(0)
        if isinstance(result, BaseException) or (isinstance(result, type) and issubclass(result, Exception)):
            raise result
        assert isinstance(result, str)
        return result


async def settle() -> None:
    """Let every task that can run, run (the loader's gate decides what finishes)."""
    for _ in range(10):
        await asyncio.sleep(0)


async def waits_for_the_load(cache: TtlCache[str, str], load: Loader) -> str | None:
    """get("k") with the loader held: the caller must still be waiting; then the load's answer."""
    load.gate.clear()
    waiting = asyncio.create_task(cache.get("k", load))
    await settle()
    assert not waiting.done()
    load.gate.set()
    return await waiting


def cache_on(clock: Clock, **options: float) -> TtlCache[str, str]:
    # No jitter: these tests step the clock to exact ttl edges (test_cache_jitter.py covers jitter).
    return TtlCache(ttl=5, negative_ttl=2, jitter=0, clock=clock, **options)


async def test_fresh_entries_are_served_without_loading():
    clock, load = Clock(), Loader("v1")
    cache = cache_on(clock)
    assert await cache.get("k", load) == "v1"
    clock.advance(4.9)
    assert await cache.get("k", load) == "v1" and load.calls == 1


async def test_stale_entry_is_served_at_once_while_one_refresh_runs():
    clock, load = Clock(), Loader("v1", "v2")
    cache = cache_on(clock)
    assert await cache.get("k", load) == "v1"
    clock.advance(6)
    load.gate.clear()  # the refresh cannot finish: every caller below must not wait for it
    async with asyncio.timeout(5):  # only reached if a caller waits on the hung refresh (the bug)
        results = await asyncio.gather(*(cache.get("k", load) for _ in range(20)))
    assert results == ["v1"] * 20
    assert load.calls == 2  # the first load, then exactly one refresh
    load.gate.set()
    await cache.wait_for_refreshes()
    assert await cache.get("k", load) == "v2" and load.calls == 2
    clock.advance(4.9)  # the refreshed value is fresh for a whole ttl again
    assert await cache.get("k", load) == "v2" and load.calls == 2


async def test_past_max_stale_the_caller_waits_for_the_load():
    clock, load = Clock(), Loader("v1", "v2")
    cache = cache_on(clock)  # max_stale defaults to 3 × ttl = 15 s
    await cache.get("k", load)
    clock.advance(15)
    assert await waits_for_the_load(cache, load) == "v2"
    assert load.calls == 2


async def test_callers_past_max_stale_join_the_running_refresh():
    clock, load = Clock(), Loader("v1", "v2")
    cache = cache_on(clock, max_stale=10)
    await cache.get("k", load)
    clock.advance(6)
    load.gate.clear()
    assert await cache.get("k", load) == "v1"  # starts the refresh, which hangs
    clock.advance(5)  # 11 s old: too old to serve
    waiting = [asyncio.create_task(cache.get("k", load)) for _ in range(3)]
    await settle()
    assert not any(t.done() for t in waiting)
    load.gate.set()
    assert await asyncio.gather(*waiting) == ["v2"] * 3
    assert load.calls == 2


async def test_failed_refresh_serves_stale_logs_a_warning_without_secrets_and_retries_later(caplog):
    clock, load = Clock(), Loader("app-secret-v1", ConnectionError("tenant down; app-secret-v1"), "v3")
    cache = cache_on(clock)
    assert await cache.get("k", load) == "app-secret-v1"
    clock.advance(6)
    with caplog.at_level(logging.WARNING, logger="kit.cache"):
        assert await cache.get("k", load) == "app-secret-v1"
        await cache.wait_for_refreshes()
    warnings = [r for r in caplog.records if r.name == "kit.cache" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "ConnectionError" in warnings[0].getMessage()
    assert "app-secret" not in caplog.text and "'k'" not in caplog.text
    # Still served, and no retry storm: the next attempt waits retry_after (min(ttl, 1 s)).
    assert await cache.get("k", load) == "app-secret-v1" and load.calls == 2
    clock.advance(1)
    assert await cache.get("k", load) == "app-secret-v1"
    await cache.wait_for_refreshes()
    assert await cache.get("k", load) == "v3" and load.calls == 3


async def test_refresh_failing_until_max_stale_then_the_error_reaches_the_caller():
    clock, load = Clock(), Loader("v1", ConnectionError("down"), ConnectionError("still down"))
    cache = cache_on(clock)
    await cache.get("k", load)
    clock.advance(6)
    assert await cache.get("k", load) == "v1"
    await cache.wait_for_refreshes()
    clock.advance(9)  # 15 s old
    with pytest.raises(ConnectionError, match="still down"):
        await cache.get("k", load)
    assert load.calls == 3


async def test_refresh_that_finds_the_key_gone_caches_a_miss():
    # A rotated token or a deleted channel: the stale value must not outlive the refresh.
    clock, load = Clock(), Loader("v1", Missing, "v3")
    cache = cache_on(clock)
    await cache.get("k", load)
    clock.advance(6)
    assert await cache.get("k", load) == "v1"
    await cache.wait_for_refreshes()
    assert await cache.get("k", load) is None
    clock.advance(1.9)
    assert await cache.get("k", load) is None and load.calls == 2
    clock.advance(0.1)
    assert await cache.get("k", load) == "v3"


async def test_misses_are_never_served_stale():
    clock, load = Clock(), Loader(Missing, "v2")
    cache = cache_on(clock)
    assert await cache.get("k", load) is None
    clock.advance(2)  # past negative_ttl, well inside what max_stale would allow a value
    assert await waits_for_the_load(cache, load) == "v2"


async def test_invalidate_makes_the_next_caller_wait():
    clock, load = Clock(), Loader("v1", "v2")
    cache = cache_on(clock)
    await cache.get("k", load)
    clock.advance(6)
    cache.invalidate("k")
    assert await waits_for_the_load(cache, load) == "v2"


async def test_zero_ttl_caches_nothing():
    clock, load = Clock(), Loader("v1", "v2")
    cache: TtlCache[str, str] = TtlCache(ttl=0, negative_ttl=0, clock=clock)  # jittered 0 is still 0
    assert await cache.get("k", load) == "v1"
    assert await cache.get("k", load) == "v2" and load.calls == 2


async def test_expire_all_refreshes_values_on_their_next_use_and_forgets_misses():
    clock, load, unknown = Clock(), Loader("v1", "v2"), Loader(Missing, "now known")
    cache = cache_on(clock)
    assert await cache.get("k", load) == "v1"
    assert await cache.get("new", unknown) is None
    cache.expire_all()
    # Still fresh by its ttl, but the source changed: the old value is served while it refreshes.
    assert await cache.get("k", load) == "v1"
    await cache.wait_for_refreshes()
    assert load.calls == 2
    assert await cache.get("k", load) == "v2"
    assert load.calls == 2  # fresh again for a whole ttl
    assert await cache.get("new", unknown) == "now known"  # the miss was forgotten


EXPIRING = {
    "expire_all": lambda cache: cache.expire_all(),
    "expire_where": lambda cache: cache.expire_where(lambda key: key in ("k", "other")),
}


async def load_across(
    load: Loader, expire: Callable[[TtlCache[str, str]], None]
) -> tuple[TtlCache[str, str], str | None]:
    """A first load of "k" that is in flight when `expire` picks it: the cache and its answer."""
    load.gate.clear()
    cache = cache_on(Clock())
    first = asyncio.create_task(cache.get("k", load))
    await settle()
    expire(cache)
    load.gate.set()
    return cache, await first


@pytest.mark.parametrize("expire", EXPIRING.values(), ids=EXPIRING.keys())
async def test_a_load_in_flight_when_its_key_expires_is_stored_stale(expire):
    load = Loader("read before the change", "read after")
    cache, first = await load_across(load, expire)
    assert first == "read before the change"
    # Served (stale) once more while the refresh reads the changed source.
    assert await cache.get("k", load) == "read before the change"
    await cache.wait_for_refreshes()
    assert await cache.get("k", load) == "read after"
    assert load.calls == 2


@pytest.mark.parametrize("expire", EXPIRING.values(), ids=EXPIRING.keys())
async def test_a_miss_loaded_across_its_expiry_is_not_remembered(expire):
    load = Loader(Missing, "created meanwhile")
    cache, first = await load_across(load, expire)
    assert first is None
    assert await cache.get("k", load) == "created meanwhile"


async def test_expire_where_leaves_the_other_keys_fresh():
    clock = Clock()
    cache = cache_on(clock)
    changed, other, unknown = Loader("v1", "v2"), Loader("o1", "o2"), Loader(Missing, "known")
    assert await cache.get("changed", changed) == "v1"
    assert await cache.get("other", other) == "o1"
    assert await cache.get("unknown", unknown) is None
    cache.expire_where(lambda key: key == "changed")
    assert await cache.get("changed", changed) == "v1"  # served stale while it refreshes
    await cache.wait_for_refreshes()
    assert await cache.get("changed", changed) == "v2" and changed.calls == 2
    assert await cache.get("other", other) == "o1" and other.calls == 1
    assert await cache.get("unknown", unknown) is None and unknown.calls == 1  # the miss is kept


async def test_a_load_in_flight_for_a_key_not_picked_stays_fresh():
    load = Loader("v1", "v2")
    cache, first = await load_across(load, lambda c: c.expire_where(lambda key: key != "k"))
    assert first == "v1"
    assert await cache.get("k", load) == "v1"
    await cache.wait_for_refreshes()
    assert load.calls == 1
