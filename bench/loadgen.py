"""A load generator in its own process: raw HTTP/1.1 keep-alive over asyncio, so the client costs
little next to the server it measures.

    python bench/loadgen.py PLAN.json --mode max --seconds 60 --connections 64 --out result.json
    python bench/loadgen.py PLAN.json --mode rate --rate 500 --seconds 30 --out result.json

PLAN.json lists request templates (path, headers, body with a ``{MID}`` placeholder for a unique
message id and a ``{PHONE}`` one for the sender, and the Meta app secret when the body must be
signed). Each request comes from one of ``--leads`` leads (20,000), each bound to one template (one
tenant's channel), so most messages come from leads that already wrote; a share of requests re-sends
an earlier message (provider retries) to check deduplication. The result records the message ids
acknowledged with 200 for the loss check.

With ``--new-phones`` the templates take turns, every request comes from a phone never used before
and nothing is re-sent (one message per lead, so each lead gets exactly one reply); the result then
also lists, per request acknowledged with 200, the phone and the wall-clock ack time
(``time.time()``), for the reply path.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import itertools
import json
import os
import random
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The leads of the default mode (--leads): each writes many messages over a run.
LEADS = 20_000


@dataclass
class Template:
    path: str
    headers: dict[str, str]
    body: str
    app_secret: str = ""


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    acked: list[str] = field(default_factory=list)
    # (phone, time.time() at the ack); only with --new-phones.
    acked_phones: list[tuple[str, float]] = field(default_factory=list)
    errors: int = 0
    sent: int = 0


class _Replies(asyncio.Protocol):
    """The answers on one keep-alive connection, parsed from the bytes as they arrive: a head up to
    its blank line, then Content-Length bytes of body (the servers measured always send one). A
    protocol rather than StreamReader.readline() per header line: at 500 requests/s the load
    generator's own CPU competes with the stack it measures for the same two cores."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[int] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        try:
            head = bytes(self.buffer[:end]).lower()
            at = head.find(b"\r\ncontent-length:")
            length = 0
            if at >= 0:
                stop = head.find(b"\r\n", at + 2)
                length = int(head[at + 17 : stop if stop >= 0 else None])
            status = int(head.split(None, 2)[1])
        except (ValueError, IndexError) as error:
            waiter.set_exception(error)
            return
        if len(self.buffer) < end + 4 + length:
            return
        del self.buffer[: end + 4 + length]
        waiter.set_result(status)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("closed"))


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.replies: _Replies | None = None

    async def request(self, raw: bytes) -> int:
        loop = asyncio.get_running_loop()
        if self.replies is None or self.replies.closed:
            _, self.replies = await loop.create_connection(_Replies, self.host, self.port)
        replies = self.replies
        assert replies.transport is not None
        replies.waiter = loop.create_future()
        replies.transport.write(raw)
        return await replies.waiter

    def close(self) -> None:
        if self.replies is not None and self.replies.transport is not None:
            self.replies.transport.close()
        self.replies = None


class Generator:
    def __init__(
        self, plan: dict[str, Any], duplicate_share: float, new_phones: bool = False, leads: int = LEADS
    ) -> None:
        self.host = plan["host"]
        self.port = plan["port"]
        self.templates = [Template(**t) for t in plan["templates"]]
        self.cycle = itertools.cycle(self.templates)
        self.duplicate_share = duplicate_share
        self.recent: list[tuple[bytes, str]] = []
        self.stats = Stats()
        self.new_phones = new_phones
        self.leads = leads
        self.phone_of: dict[str, str] = {}
        # A random area code and prefix per run, so a second run never reuses a lead.
        self.phone_base = f"55{random.randrange(11, 99)}9{random.randrange(10, 99)}"

    def next_request(self) -> tuple[bytes, str]:
        if not self.new_phones and self.recent and random.random() < self.duplicate_share:
            return random.choice(self.recent)
        mid = uuid.uuid4().hex
        if self.new_phones:
            template = next(self.cycle)
            phone = f"{self.phone_base}{len(self.phone_of):06d}"
            self.phone_of[mid] = phone
        else:
            # `leads` leads in all, so most messages come from people who already wrote; each writes
            # to one number (a template: one tenant's channel), so a lead is one tenant's lead.
            lead = random.randrange(self.leads)
            template = self.templates[lead % len(self.templates)]
            phone = f"55419{lead:08d}"
        body = template.body.replace("{MID}", mid).replace("{PHONE}", phone).encode()
        headers = dict(template.headers)
        if template.app_secret:
            digest = hmac.new(template.app_secret.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Hub-Signature-256"] = f"sha256={digest}"
        head = f"POST {template.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head += f"Content-Length: {len(body)}\r\n\r\n"
        raw = head.encode() + body
        if len(self.recent) < 1000:
            self.recent.append((raw, mid))
        else:
            self.recent[random.randrange(1000)] = (raw, mid)
        return raw, mid

    async def one(self, conn: Connection, raw: bytes, mid: str, scheduled: float) -> None:
        self.stats.sent += 1
        try:
            status = await conn.request(raw)
        except (OSError, ConnectionError, ValueError, IndexError):
            conn.close()
            self.stats.errors += 1
            return
        self.stats.latencies.append(time.perf_counter() - scheduled)
        self.stats.statuses[status] = self.stats.statuses.get(status, 0) + 1
        if status == 200:
            self.stats.acked.append(mid)
            if mid in self.phone_of:
                self.stats.acked_phones.append((self.phone_of[mid], time.time()))

    async def run_max(self, seconds: float, connections: int) -> float:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            conn = Connection(self.host, self.port)
            while time.perf_counter() < deadline:
                raw, mid = self.next_request()
                await self.one(conn, raw, mid, time.perf_counter())
            conn.close()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        return time.perf_counter() - started

    async def run_rate(self, seconds: float, rate: float, connections: int) -> float:
        """Open loop: request i is due at start + i/rate; latency counts from when it was due."""
        pool: asyncio.Queue[Connection] = asyncio.Queue()
        for _ in range(connections):
            pool.put_nowait(Connection(self.host, self.port))
        started = time.perf_counter()
        total = int(seconds * rate)
        tasks = []
        for i in range(total):
            due = started + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            raw, mid = self.next_request()
            conn = await pool.get()

            async def send(
                conn: Connection = conn, raw: bytes = raw, mid: str = mid, due: float = due
            ) -> None:
                try:
                    await self.one(conn, raw, mid, due)
                finally:
                    pool.put_nowait(conn)

            tasks.append(asyncio.create_task(send()))
        await asyncio.gather(*tasks)
        return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("plan", type=Path)
    parser.add_argument("--mode", choices=["max", "rate"], default="max")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duplicates", type=float, default=0.05)
    parser.add_argument("--new-phones", action="store_true", help="one message per new lead, no re-sends")
    parser.add_argument("--leads", type=int, default=LEADS, help="leads writing (without --new-phones)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    generator = Generator(json.loads(args.plan.read_text()), args.duplicates, args.new_phones, args.leads)
    if args.mode == "max":
        elapsed = asyncio.run(generator.run_max(args.seconds, args.connections))
    else:
        elapsed = asyncio.run(generator.run_rate(args.seconds, args.rate, args.connections))
    lat = generator.stats.latencies
    result = {
        "mode": args.mode,
        "elapsed_s": elapsed,
        "sent": generator.stats.sent,
        "ok": generator.stats.statuses.get(200, 0),
        "statuses": generator.stats.statuses,
        "errors": generator.stats.errors,
        "throughput_rps": len(lat) / elapsed if elapsed else 0,
        "p50_ms": percentile(lat, 0.50) * 1000,
        "p95_ms": percentile(lat, 0.95) * 1000,
        "p99_ms": percentile(lat, 0.99) * 1000,
        "acked_unique": sorted(set(generator.stats.acked)),
        "acked_phones": generator.stats.acked_phones,
        "pid": os.getpid(),
    }
    args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
