from __future__ import annotations

import asyncio

import pytest

from kit.cache import Missing, TtlCache


class TestTtlCache:
    async def test_concurrent_misses_share_one_load(self):
        calls = 0

        async def load() -> str:
            nonlocal calls
            calls += 1
            await asyncio.sleep(0.01)
            return "value"

        cache: TtlCache[str, str] = TtlCache(ttl=10, negative_ttl=1)
        results = await asyncio.gather(*(cache.get("k", load) for _ in range(50)))
        assert results == ["value"] * 50 and calls == 1
        assert await cache.get("k", load) == "value" and calls == 1

    async def test_expiry_past_max_stale_reloads(self):
        values = iter(["old", "new"])

        async def load() -> str:
            return next(values)

        # max_stale = ttl: no stale window (test_cache_stale.py covers stale-while-revalidate).
        cache: TtlCache[str, str] = TtlCache(ttl=0.05, negative_ttl=0.05, max_stale=0.05)
        assert await cache.get("k", load) == "old"
        await asyncio.sleep(0.06)
        assert await cache.get("k", load) == "new"

    async def test_misses_are_cached_briefly(self):
        calls = 0

        async def load() -> str:
            nonlocal calls
            calls += 1
            raise Missing

        cache: TtlCache[str, str] = TtlCache(ttl=10, negative_ttl=0.05)
        assert await cache.get("k", load) is None
        assert await cache.get("k", load) is None and calls == 1
        await asyncio.sleep(0.06)
        assert await cache.get("k", load) is None and calls == 2

    async def test_errors_are_not_cached_and_reach_every_waiter(self):
        calls = 0

        async def load() -> str:
            nonlocal calls
            calls += 1
            await asyncio.sleep(0.01)
            raise ConnectionError("down")

        cache: TtlCache[str, str] = TtlCache(ttl=10, negative_ttl=10)
        results = await asyncio.gather(*(cache.get("k", load) for _ in range(5)), return_exceptions=True)
        assert all(isinstance(r, ConnectionError) for r in results) and calls == 1
        with pytest.raises(ConnectionError):
            await cache.get("k", load)
        assert calls == 2

    async def test_bounded(self):
        async def load() -> int:
            return 1

        cache: TtlCache[int, int] = TtlCache(ttl=10, negative_ttl=1, max_entries=3)
        for key in range(10):
            await cache.get(key, load)
        assert len(cache._entries) == 3
