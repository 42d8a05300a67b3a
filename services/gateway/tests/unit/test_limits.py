from __future__ import annotations

import pytest

from gateway.limits import Level, MemoryCounter, RedisCounter, TenantLimits, level, message_level


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_020.0

    def __call__(self) -> float:
        return self.now


class TestLevel:
    @pytest.mark.parametrize(
        ("count", "expected"),
        [(1, Level.OK), (100, Level.OK), (101, Level.SOFT), (500, Level.SOFT), (501, Level.HARD)],
    )
    def test_thresholds_are_exclusive(self, count, expected):
        assert level(count, 100, 500) is expected


class TestMemoryCounter:
    async def test_counts_per_key_and_window(self):
        clock = Clock()
        counter = MemoryCounter(clock)
        assert [await counter.hit("a", 60) for _ in range(3)] == [1, 2, 3]
        assert await counter.hit("b", 60) == 1
        clock.now += 60
        assert await counter.hit("a", 60) == 1

    async def test_old_windows_are_forgotten(self):
        clock = Clock()
        counter = MemoryCounter(clock)
        for minute in range(100):
            clock.now += 60
            await counter.hit(f"t{minute}", 60)
        assert len(counter._counts) == 1

    async def test_message_level_reaches_soft_then_hard(self):
        counter = MemoryCounter(Clock())
        limits = TenantLimits(messages_per_minute_soft=2, messages_per_minute_hard=3)
        levels = [(await message_level(counter, "t", limits))[0] for _ in range(4)]
        assert levels == [Level.OK, Level.OK, Level.SOFT, Level.HARD]


class TestRedisCounter:
    async def test_two_gateways_share_one_count(self, require_redis):
        redis_url = require_redis
        import uuid

        import redis.asyncio as redis

        a, b = redis.from_url(redis_url), redis.from_url(redis_url)
        prefix = f"test:{uuid.uuid4().hex}:"
        first, second = RedisCounter(a, prefix), RedisCounter(b, prefix)
        counts = [await first.hit("t", 60), await second.hit("t", 60), await first.hit("t", 60)]
        assert counts == [1, 2, 3]
        keys = await a.keys(f"{prefix}*")
        assert len(keys) == 1 and 60 < await a.ttl(keys[0]) <= 120
        await a.delete(*keys)
        await a.aclose()
        await b.aclose()

    async def test_concurrent_hits_share_round_trips_and_keep_exact_totals(self, require_redis):
        import asyncio
        import uuid

        import redis.asyncio as redis

        a, b = redis.from_url(require_redis), redis.from_url(require_redis)
        prefix = f"test:{uuid.uuid4().hex}:"
        first, second = RedisCounter(a, prefix), RedisCounter(b, prefix)

        async def incrby_calls() -> int:
            """Counting commands Redis ran so far, in scripts too."""
            stats = await a.info("commandstats")
            return sum(
                int(stats.get(f"cmdstat_{c}", {}).get("calls", 0)) for c in ("incr", "incrby", "evalsha")
            )

        before = await incrby_calls()
        counts = await asyncio.gather(
            *(first.hit("t", 60) for _ in range(150)),
            *(second.hit("t", 60) for _ in range(150)),
            *(first.hit("other", 60) for _ in range(20)),
        )
        # Every hit has its own place in its key's count, as with one INCR each.
        assert sorted(counts[:300]) == list(range(1, 301)) and sorted(counts[300:]) == list(range(1, 21))
        # Other clients of this Redis may count meanwhile, but nowhere near one per hit.
        assert await incrby_calls() - before < 50
        keys = await a.keys(f"{prefix}*")
        assert len(keys) == 2 and all([60 < await a.ttl(key) <= 120 for key in keys])
        await a.delete(*keys)
        await a.aclose()
        await b.aclose()
