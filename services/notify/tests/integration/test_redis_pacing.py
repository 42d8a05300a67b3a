"""The shared (Redis) pacer: the same buckets for every replica."""

from __future__ import annotations

import uuid

import redis.asyncio as redis

from notify.pacing import Limits, RedisPacer


async def test_two_replicas_share_the_recipient_bucket(require_redis):
    limits = Limits(number_per_second=80, recipient_burst=2, recipient_interval=6)
    a_client, b_client = redis.from_url(require_redis), redis.from_url(require_redis)
    try:
        a, b = RedisPacer(a_client, limits), RedisPacer(b_client, limits)
        number = uuid.uuid4().hex
        assert await a.take(number, "5541") == 0
        assert await b.take(number, "5541") == 0
        wait = await a.take(number, "5541")
        assert 5 < wait <= 6
        assert await b.take(number, "5542") == 0
    finally:
        await a_client.aclose()
        await b_client.aclose()
