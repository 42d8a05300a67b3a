"""More concurrent commands than the pool has connections wait for one; none fails."""

from __future__ import annotations

import asyncio
import uuid

from kit.redisclient import connect


async def test_a_burst_larger_than_the_pool_waits_for_connections(require_redis: str) -> None:
    client = connect(require_redis, max_connections=4)
    key = f"vellarys-test:burst:{uuid.uuid4().hex}"
    try:
        results = await asyncio.gather(*(client.incr(key) for _ in range(300)))
        assert sorted(results) == list(range(1, 301))
        assert int(await client.get(key)) == 300
    finally:
        await client.delete(key)
        await client.aclose()
