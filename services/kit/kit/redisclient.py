"""The one way services open Redis: a pool that makes a caller wait for a free connection.

redis-py's default pool refuses a command with MaxConnectionsError once 100 connections are busy,
and a gateway under a burst of webhooks had 100 limit counters in flight at once: the webhooks past
that answered 500 (seen in the bench at 512 concurrent connections). Here the 101st command waits
for a connection to come back, for up to `wait` seconds, as any other pool in the stack does.
"""

from __future__ import annotations

import redis.asyncio as redis

MAX_CONNECTIONS = 64


def connect(url: str, *, max_connections: int = MAX_CONNECTIONS, wait: float = 2.0) -> redis.Redis:
    """A client for `url`; connecting, each command and waiting for a connection time out at 2 s."""
    pool = redis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=wait, socket_connect_timeout=2, socket_timeout=2
    )
    return redis.Redis.from_pool(pool)  # closing the client closes the pool
