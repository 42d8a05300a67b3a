"""Outbound pacing: per business number (Meta's 80 msg/s) and per recipient (pair rate ~1 msg / 6 s).

Two token buckets checked together: a send goes only when both have a token, and then takes one from
each. The recipient bucket holds a short burst, so a reply right after a previous one is not delayed.
With Redis the buckets are shared by every replica (one Lua script, atomic); without, in-process.
A caller that must wait gets the number of seconds to wait and reschedules; nobody sleeps here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

# KEYS[1] number bucket, KEYS[2] recipient bucket; ARGV: now, n_rate, n_burst, r_rate, r_burst.
# Returns "0" when both tokens were taken, else the seconds to wait as a string.
LUA = """
local now = tonumber(ARGV[1])
local function level(key, rate, burst)
  local v = redis.call('HMGET', key, 't', 'ts')
  local tokens = tonumber(v[1]) or burst
  local ts = tonumber(v[2]) or now
  return math.min(burst, tokens + math.max(0, now - ts) * rate)
end
local nr, nb, rr, rb = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local n = level(KEYS[1], nr, nb)
local r = level(KEYS[2], rr, rb)
local wait = 0
if n < 1 then wait = math.max(wait, (1 - n) / nr) end
if r < 1 then wait = math.max(wait, (1 - r) / rr) end
if wait > 0 then return tostring(wait) end
redis.call('HSET', KEYS[1], 't', n - 1, 'ts', now)
redis.call('HSET', KEYS[2], 't', r - 1, 'ts', now)
redis.call('EXPIRE', KEYS[1], math.ceil(nb / nr) + 60)
redis.call('EXPIRE', KEYS[2], math.ceil(rb / rr) + 60)
return "0"
"""


@dataclass(frozen=True)
class Limits:
    number_per_second: float
    recipient_burst: int
    recipient_interval: float

    @property
    def number_burst(self) -> float:
        return max(1.0, self.number_per_second)

    @property
    def recipient_rate(self) -> float:
        # interval 0 turns the recipient limit off.
        return 1.0 / self.recipient_interval if self.recipient_interval > 0 else 1e9


class Pacer(Protocol):
    mode: str

    async def take(self, number: str, recipient: str) -> float:
        """0 when the message may go now (tokens taken), else seconds to wait."""


class _Bucket:
    __slots__ = ("tokens", "ts")

    def __init__(self, tokens: float, ts: float) -> None:
        self.tokens = tokens
        self.ts = ts

    def level(self, now: float, rate: float, burst: float) -> float:
        return min(burst, self.tokens + max(0.0, now - self.ts) * rate)


class LocalPacer:
    mode = "in-process"

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._buckets: dict[str, _Bucket] = {}

    def _bucket(self, key: str, burst: float, now: float) -> _Bucket:
        if len(self._buckets) > 100_000:  # idle buckets are full again: forgetting them changes nothing
            self._buckets = {k: b for k, b in self._buckets.items() if now - b.ts < 3600}
        return self._buckets.setdefault(key, _Bucket(burst, now))

    async def take(self, number: str, recipient: str) -> float:
        lim, now = self.limits, time.monotonic()
        nb = self._bucket(f"n:{number}", lim.number_burst, now)
        rb = self._bucket(f"r:{number}:{recipient}", lim.recipient_burst, now)
        n = nb.level(now, lim.number_per_second, lim.number_burst)
        r = rb.level(now, lim.recipient_rate, lim.recipient_burst)
        wait = max(
            (1 - n) / lim.number_per_second if n < 1 else 0.0, (1 - r) / lim.recipient_rate if r < 1 else 0.0
        )
        if wait > 0:
            return wait
        nb.tokens, nb.ts = n - 1, now
        rb.tokens, rb.ts = r - 1, now
        return 0.0


class RedisPacer:
    mode = "shared"

    def __init__(self, client: Any, limits: Limits, prefix: str = "vellarys:notify:pace") -> None:
        self.client = client
        self.limits = limits
        self.prefix = prefix
        self._script = client.register_script(LUA)

    async def take(self, number: str, recipient: str) -> float:
        lim = self.limits
        keys = [f"{self.prefix}:n:{number}", f"{self.prefix}:r:{number}:{recipient}"]
        args = [time.time(), lim.number_per_second, lim.number_burst, lim.recipient_rate, lim.recipient_burst]
        answer = await self._script(keys=keys, args=args)
        return float(answer.decode() if isinstance(answer, bytes) else answer)
