"""TtlCache's jitter, on a controlled clock: entries filled in the same instant go stale apart, and
never later than the ttl."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from kit.cache import Missing, TtlCache

KEYS = 100
STEP = 0.01


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def loader(loads: list[int], key: int, *, missing: bool = False) -> Callable[[], Awaitable[str]]:
    async def load() -> str:
        loads.append(key)
        if missing:
            raise Missing
        return f"v{key}"

    return load


async def stale_instants(
    cache: TtlCache[int, str], clock: Clock, horizon: float, *, missing: bool
) -> dict[int, float]:
    """Fills KEYS keys at one instant, then steps the clock by STEP and asks for every key: the first
    instant a key's lookup loads again (a background refresh, or a reload of a miss) is when it went
    stale."""
    loads: list[int] = []
    start = clock.now
    for key in range(KEYS):
        await cache.get(key, loader(loads, key, missing=missing))
    assert sorted(loads) == list(range(KEYS))
    stale_at: dict[int, float] = {}
    for step in range(round(horizon / STEP) + 1):
        clock.now = start + step * STEP
        loads.clear()
        for key in range(KEYS):
            if key not in stale_at:
                await cache.get(key, loader(loads, key, missing=missing))
        await cache.wait_for_refreshes()
        stale_at |= {key: step * STEP for key in loads}
    return stale_at


@pytest.mark.parametrize("missing", [False, True], ids=["values", "misses"])
async def test_keys_filled_together_go_stale_apart_within_the_ttl(missing):
    clock = Clock()
    cache: TtlCache[int, str] = TtlCache(ttl=8, negative_ttl=2, clock=clock)  # jitter 0.25 by default
    ttl = 2 if missing else 8
    stale_at = await stale_instants(cache, clock, ttl, missing=missing)
    assert len(stale_at) == KEYS  # every key was stale at the ttl: none outlived it
    instants = stale_at.values()
    assert all(ttl * 0.75 <= t <= ttl for t in instants)
    # Without jitter they would all be one instant; uniform draws put 100 keys on about 40 (misses)
    # to 80 (values) different 10 ms steps, across the whole window.
    assert len(set(instants)) >= 20
    assert max(instants) - min(instants) > ttl * 0.25 / 2


@pytest.mark.parametrize("missing", [False, True], ids=["values", "misses"])
async def test_no_jitter_is_exactly_the_ttl(missing):
    clock = Clock()
    cache: TtlCache[int, str] = TtlCache(ttl=8, negative_ttl=2, jitter=0, clock=clock)
    ttl = 2 if missing else 8
    loads: list[int] = []
    start = clock.now
    for key in range(KEYS):
        await cache.get(key, loader(loads, key, missing=missing))
    loads.clear()
    clock.now = start + ttl - 1e-6
    for key in range(KEYS):
        await cache.get(key, loader(loads, key, missing=missing))
    assert loads == []
    clock.now = start + ttl
    for key in range(KEYS):
        await cache.get(key, loader(loads, key, missing=missing))
    await cache.wait_for_refreshes()
    assert sorted(loads) == list(range(KEYS))


async def test_a_refreshed_value_is_jittered_again_and_still_within_the_ttl():
    clock = Clock()
    cache: TtlCache[int, str] = TtlCache(ttl=8, negative_ttl=2, clock=clock)
    loads: list[int] = []
    await cache.get(0, loader(loads, 0))
    refreshed = clock.now = clock.now + 8  # stale: this lookup refreshes it
    await cache.get(0, loader(loads, 0))
    await cache.wait_for_refreshes()
    assert loads == [0, 0]
    clock.now = refreshed + 5.99  # under 8 × 0.75: fresh whatever the draw
    await cache.get(0, loader(loads, 0))
    clock.now = refreshed + 8  # stale whatever the draw
    await cache.get(0, loader(loads, 0))
    await cache.wait_for_refreshes()
    assert loads == [0, 0, 0]


@pytest.mark.parametrize("jitter", [-0.1, 1.5])
def test_jitter_outside_zero_to_one_is_refused(jitter):
    with pytest.raises(ValueError, match="jitter"):
        TtlCache(ttl=8, negative_ttl=2, jitter=jitter)
