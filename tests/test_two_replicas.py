"""Two replicas, one machine: two gateways and two conversation services (each with its reply
workers) as real processes against one Postgres and one Redis; tenant, ai and notify once.

Shows the three things more than one replica needs: rate limits shared through Redis, no reply job
done twice (FOR UPDATE SKIP LOCKED), and no message lost while a gateway and a conversation replica
are SIGKILLed under load (a 200 means committed; the killed worker's jobs come back after its lease).
The tests run in file order and share the processes; the last one kills two of them.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/ is not a package (importlib mode)

from procstack import (
    Proc,
    create_tenant,
    free_port,
    internal_auth,
    post_webhook,
    prepare_database,
    processes,
    wait_until,
    zapi_payload,
)

from kit.dbadmin import asyncpg_dsn
from kit.fakes.openai import FakeOpenAI, text
from kit.fakes.providers import FakeProviders

LEASE_SECONDS = 3
REPLY = "Olá! Sim, está disponível. Quer agendar uma visita?"


@dataclass
class Replicas:
    gateways: list[Proc]
    conversations: list[Proc]
    tenant: Proc
    database_url: str
    providers: FakeProviders
    openai: FakeOpenAI

    def query(self, statement: str, *args: Any) -> list[asyncpg.Record]:
        async def run() -> list[asyncpg.Record]:
            conn = await asyncpg.connect(asyncpg_dsn(self.database_url))
            try:
                return list(await conn.fetch(statement, *args))
            finally:
                await conn.close()

        return asyncio.run(run())

    def new_tenant(self, **limits: int) -> tuple[str, str]:
        with internal_auth():
            return asyncio.run(create_tenant(self.tenant.addr, **limits))

    def pending_jobs(self, tenant_id: str) -> int:
        rows = self.query(
            "SELECT count(*) AS n FROM conversation.reply_jobs WHERE tenant_id = $1"
            " AND status IN ('queued', 'running', 'retry_wait')",
            uuid.UUID(tenant_id),
        )
        return int(rows[0]["n"])

    def sends_by_phone(self) -> Counter[str]:
        return Counter(r.json()["phone"] for r in self.providers.received("zapi"))


@pytest.fixture(scope="module")
def fresh_database(postgres_server: str) -> Iterator[str]:
    from sqlalchemy.engine import make_url

    name = f"vellarys_replicas_{uuid.uuid4().hex[:8]}"

    async def admin(statement: str) -> None:
        conn = await asyncpg.connect(asyncpg_dsn(postgres_server))
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    yield make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def module_redis(redis_url: str | None) -> str:
    if not redis_url:
        pytest.skip("no REDIS_URL and no redis-server binary: shared (multi-replica) mode not testable")
    return redis_url


@pytest.fixture(scope="module")
def replicas(fresh_database: str, module_redis: str) -> Iterator[Replicas]:
    prepare_database(fresh_database)
    workdir = Path(tempfile.mkdtemp(prefix="vellarys-replicas-"))
    # The model takes a moment, so SIGKILL lands while jobs are in flight.
    with (
        FakeOpenAI(default=text(REPLY, delay=0.2)) as openai,
        FakeProviders() as providers,
        processes(fresh_database, workdir, REDIS_URL=module_redis, LOG_LEVEL="WARNING") as procs,
    ):
        tenant = procs.start("tenant")
        ai = procs.start(
            "ai",
            OPENAI_API_KEY="sk-test-not-real",
            OPENAI_BASE_URL=openai.base_url,
            TENANT_ADDR=tenant.addr,
        )
        conv_ports, notify_port = [free_port(), free_port()], free_port()
        peers = {
            "TENANT_ADDR": tenant.addr,
            "AI_ADDR": ai.addr,
            "NOTIFY_ADDR": f"127.0.0.1:{notify_port}",
        }
        procs.start(
            "notify", port=notify_port, TENANT_ADDR=tenant.addr, ZAPI_BASE_URL=providers.zapi_base_url,
            SENDER_POLL_SECONDS="0.1", CONVERSATION_ADDR=f"127.0.0.1:{conv_ports[1]}",
        )  # fmt: skip
        conversations = [
            procs.start(
                "conversation",
                port=port,
                REPLY_LEASE_SECONDS=str(LEASE_SECONDS),
                REPLY_AI_DEADLINE_SECONDS="2",
                REPLY_POLL_SECONDS="0.1",
                REPLY_DEBOUNCE_SECONDS="0",
                REPLY_SWEEP_SECONDS="1",
                REPLY_SWEEP_GRACE_SECONDS="2",
                **peers,
            )
            for port in conv_ports
        ]
        gateways = [procs.start("gateway", **peers, CONVERSATION_ADDR=conv.addr) for conv in conversations]
        procs.wait_ready()
        yield Replicas(gateways, conversations, tenant, fresh_database, providers, openai)
    shutil.rmtree(workdir, ignore_errors=True)


def phone() -> str:
    return "55419" + str(uuid.uuid4().int)[:8]


def wait_for_minute_start() -> None:
    """Limits count in fixed one-minute windows: do not straddle two of them."""
    if time.time() % 60 > 45:
        time.sleep(61 - time.time() % 60)


def test_rate_limits_are_shared_across_gateways(replicas: Replicas) -> None:
    hard, extra = 6, 4
    tenant_id, path = replicas.new_tenant(messages_per_minute_soft=3, messages_per_minute_hard=hard)
    wait_for_minute_start()
    with httpx.Client(timeout=10) as client:
        for n in range(hard + extra):
            gateway = replicas.gateways[n % 2]
            assert post_webhook(client, gateway, path, zapi_payload(phone(), uuid.uuid4().hex)) == 200
    rows = replicas.query(
        "SELECT auto_reply_blocked FROM conversation.messages WHERE tenant_id = $1 AND direction = 'inbound'",
        uuid.UUID(tenant_id),
    )
    assert len(rows) == hard + extra
    # Each gateway alone saw only 5: without the shared counter none would be over 6.
    assert sum(r["auto_reply_blocked"] == "messages_per_minute_hard" for r in rows) == extra
    wait_until(lambda: replicas.pending_jobs(tenant_id) == 0, 30, "the unflagged messages answered")


def test_a_burst_across_both_replicas_is_answered_once_each(replicas: Replicas) -> None:
    tenant_id, path = replicas.new_tenant()
    phones = [phone() for _ in range(24)]
    with httpx.Client(timeout=10) as client, ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(
                lambda i: post_webhook(
                    client, replicas.gateways[i % 2], path, zapi_payload(phones[i], uuid.uuid4().hex)
                ),
                range(len(phones)),
            )
        )
    assert statuses == [200] * len(phones)
    wait_until(lambda: replicas.pending_jobs(tenant_id) == 0, 40, "every reply job finished")

    def runs() -> list[Any]:
        return replicas.query(
            "SELECT job_id, count(*) AS n FROM ai.calls WHERE tenant_id = $1 GROUP BY job_id",
            uuid.UUID(tenant_id),
        )

    # ai writes a call's row as its answer leaves: the last rows may land just after the jobs end.
    wait_until(lambda: len(runs()) >= len(phones), 10, "every call logged")
    time.sleep(0.5)  # a second run of a job would have logged by now
    assert len(runs()) == len(phones) and {r["n"] for r in runs()} == {1}, "a job ran twice"
    wait_until(lambda: all(replicas.sends_by_phone()[p] >= 1 for p in phones), 20, "every reply sent")
    sends = replicas.sends_by_phone()
    assert [sends[p] for p in phones] == [1] * len(phones)


def test_no_message_lost_when_replicas_are_killed_under_load(replicas: Replicas) -> None:
    tenant_id, path = replicas.new_tenant()
    total = 60
    phones = [phone() for _ in range(total)]
    ids = [uuid.uuid4().hex for _ in range(total)]
    doomed_gateway, doomed_conversation = replicas.gateways[0], replicas.conversations[0]
    survivor = replicas.gateways[1]

    def send(i: int, client: httpx.Client) -> int:
        if i == total // 2:
            doomed_gateway.kill()
            doomed_conversation.kill()
        return post_webhook(client, replicas.gateways[i % 2], path, zapi_payload(phones[i], ids[i]))

    with httpx.Client(timeout=10) as client, ThreadPoolExecutor(6) as pool:
        first = list(pool.map(lambda i: send(i, client), range(total)))
        assert 200 in first and any(s != 200 for s in first), first
        # As a provider does: whatever was not acknowledged 200 is delivered again, elsewhere.
        retried = [post_webhook(client, survivor, path, zapi_payload(phones[i], ids[i])) for i in range(total)
                   if first[i] != 200]  # fmt: skip
    assert retried and set(retried) == {200}
    stored = replicas.query(
        "SELECT external_id, count(*) AS n FROM conversation.messages WHERE tenant_id = $1"
        " AND direction = 'inbound' GROUP BY external_id",
        uuid.UUID(tenant_id),
    )
    assert sorted(r["external_id"] for r in stored) == sorted(ids) and {r["n"] for r in stored} == {1}
    # The killed worker's claims come back after its lease; every job ends, and every lead gets
    # exactly one reply at the provider.
    wait_until(lambda: replicas.pending_jobs(tenant_id) == 0, LEASE_SECONDS + 40, "every reply job finished")
    done = replicas.query(
        "SELECT status, count(*) AS n FROM conversation.reply_jobs WHERE tenant_id = $1 GROUP BY status",
        uuid.UUID(tenant_id),
    )
    assert {r["status"]: r["n"] for r in done} == {"done": total}
    wait_until(lambda: all(replicas.sends_by_phone()[p] >= 1 for p in phones), 30, "every reply sent")
    time.sleep(1)  # a duplicate, if any, would show up now
    sends = replicas.sends_by_phone()
    assert {p: sends[p] for p in phones if sends[p] != 1} == {}
