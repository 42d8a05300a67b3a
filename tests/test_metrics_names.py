"""Every metric the alert rules in deploy/prometheus/alerts.yaml read is really exported.

The whole stack runs as real processes (each with its own registry, as in production); after one
message goes through the reply path, the gateway's /metrics (on its HTTP port) and every gRPC
service's metrics port are scraped. container_* and kube_* come from cAdvisor and
kube-state-metrics, not from us.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

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

ROOT = Path(__file__).resolve().parent.parent
ALERTS = ROOT / "deploy/prometheus/alerts.yaml"
NAME = re.compile(r"\b((?:vellarys|process|container|kube)_[a-z0-9_]+)\b")
NOT_OURS = ("container_", "kube_")


def alert_metric_names() -> set[str]:
    """Metric names in every rule's expression, and the ones its descriptions tell people to read."""
    rules = [r for group in yaml.safe_load(ALERTS.read_text())["groups"] for r in group["rules"]]
    assert rules, "no alert rules"
    names: set[str] = set()
    for rule in rules:
        names |= set(NAME.findall(rule["expr"]))
        names |= set(NAME.findall(str(rule.get("annotations", {}).get("description", ""))))
    return {n for n in names if not n.startswith(NOT_OURS)}


def scrape(url: str) -> set[str]:
    response = httpx.get(url, timeout=5)
    assert response.status_code == 200, (url, response.status_code)
    return {s.name for family in text_string_to_metric_families(response.text) for s in family.samples}


@pytest.fixture(scope="module")
def fresh_database(postgres_server: str) -> Iterator[str]:
    import asyncio

    from sqlalchemy.engine import make_url

    name = f"vellarys_metrics_{uuid.uuid4().hex[:8]}"

    async def admin(statement: str) -> None:
        conn = await asyncpg.connect(asyncpg_dsn(postgres_server))
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    yield make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_every_metric_the_alerts_use_is_exported(fresh_database: str) -> None:
    import asyncio

    wanted = alert_metric_names()
    assert {"vellarys_http_request_duration_seconds_bucket", "vellarys_reply_queue_depth"} <= wanted
    prepare_database(fresh_database)
    workdir = Path(tempfile.mkdtemp(prefix="vellarys-metrics-"))
    with (
        FakeOpenAI(default=text("Olá!")) as openai,
        FakeProviders() as providers,
        processes(fresh_database, workdir, LOG_LEVEL="WARNING") as procs,
    ):
        ports = {name: free_port() for name in ("tenant", "conversation", "ai", "notify")}
        addrs = {f"{n.upper()}_ADDR": f"127.0.0.1:{p}" for n, p in ports.items()}
        services: list[Proc] = [
            procs.start("tenant", port=ports["tenant"], **addrs),
            procs.start(
                "ai",
                port=ports["ai"],
                OPENAI_API_KEY="sk-test-not-real",
                OPENAI_BASE_URL=openai.base_url,
                **addrs,
            ),
            procs.start("notify", port=ports["notify"], ZAPI_BASE_URL=providers.zapi_base_url, **addrs),
            procs.start(
                "conversation",
                port=ports["conversation"],
                REPLY_METRICS_SECONDS="0.2",
                REPLY_DEBOUNCE_SECONDS="0",
                REPLY_POLL_SECONDS="0.1",
                **addrs,
            ),
        ]
        gateway = procs.start("gateway", **addrs)
        procs.wait_ready()
        with internal_auth():
            _, path = asyncio.run(
                create_tenant(services[0].addr, messages_per_minute_soft=1, messages_per_minute_hard=2)
            )
        with httpx.Client(timeout=10) as client:
            for _ in range(3):  # over the soft and the hard limit: limit-hit counters move
                assert (
                    post_webhook(client, gateway, path, zapi_payload("5541991110000", uuid.uuid4().hex))
                    == 200
                )
        wait_until(lambda: len(providers.received("zapi")) >= 1, 30, "the reply sent")
        time.sleep(0.5)  # one more queue sample
        by_target = {
            "gateway": scrape(f"http://{gateway.addr}/metrics"),
            **{p.name: scrape(f"http://127.0.0.1:{p.metrics_port}/metrics") for p in services},
        }
    shutil.rmtree(workdir, ignore_errors=True)
    exported = set().union(*by_target.values())
    assert wanted - exported == set(), f"alert rules read metrics nobody exports: {wanted - exported}"
    for target, names in by_target.items():
        assert "process_resident_memory_bytes" in names, f"{target} exports no process memory"
    gateway_names = by_target["gateway"]
    assert {
        "vellarys_tenant_messages_total",
        "vellarys_tenant_limit_hits_total",
        "vellarys_webhooks_total",
    } <= gateway_names
    assert "vellarys_deliveries_total" in by_target["notify"]
    assert "vellarys_reply_queue_oldest_age_seconds" in by_target["conversation"]


async def test_the_gateway_metrics_endpoint_is_cheap(gateway) -> None:
    """No I/O and a cached render: a flood of scrapes costs at most one render per second."""
    first = await gateway.get("/metrics")
    assert first.status_code == 200 and first.headers["content-type"].startswith("text/plain")
    assert b"process_resident_memory_bytes" in first.content
    bodies = {(await gateway.get("/metrics")).content for _ in range(50)}
    # Each scrape is itself counted: without the cache the 50 bodies would all differ.
    assert len(bodies) <= 3
