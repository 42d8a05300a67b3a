"""The batch ingest function finds every row by its key, whatever the tables' statistics say.

PL/pgSQL keeps a statement's plan for the connection's life. Plans made from statistics gathered
while the tables were small chose the trigram index for the leads' `phone = …` lookups (a bitmap
scan that cost 1 ms a probe and grew with the table), and the bench's cold phase fell from about
2,900 to 500 webhooks/s. This test makes that situation on purpose, in a database of its own.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from kit.dbadmin import asyncpg_dsn

TENANTS = [uuid.UUID(int=n + 1) for n in range(50)]
INGEST = (
    "SELECT * FROM conversation.ingest_inbound_many($1::uuid[], $2::text[], $3::text[],"
    " $4::timestamptz[], $5::uuid[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],"
    " $11::text[], $12::text[], $13::text[], $14::timestamptz[], $15::text[], $16::int[], $17::int[],"
    " $18::bool[], $19::float8[], $20::float8[], $21::text[], $22::text[])"
)


def _batch(first_phone: int, size: int = 128) -> list[list[object]]:
    """`size` new leads' first messages, spread over the tenants, one array per parameter."""
    now = datetime.now(UTC)
    leads = sorted(
        ((TENANTS[n % len(TENANTS)], f"+55419{first_phone + n:08d}") for n in range(size)),
        key=lambda lead: (str(lead[0]), lead[1]),
    )
    return [
        [t for t, _ in leads], [p for _, p in leads], ["Maria"] * size, [now] * size, [None] * size,
        ["zapi"] * size, [uuid.uuid4().hex for _ in leads], ["text"] * size, ["Oi"] * size,
        [None] * size, [None] * size, [""] * size, [json.dumps({"id": 1})] * size, [now] * size,
        [""] * size, [0] * size, [0] * size, [False] * size, [1.0] * size, [10.0] * size,
        [""] * size, [""] * size,
    ]  # fmt: skip


async def test_plans_made_from_small_tables_still_use_the_keys(fresh: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(fresh))
    try:
        for n in range(10):  # 1,280 leads, each with its conversation and first message
            await conn.fetch(INGEST, *_batch(n * 128))
        await conn.execute(
            "ANALYZE conversation.leads, conversation.conversations, conversation.messages,"
            " conversation.reply_jobs, conversation.tenant_day_counters"
        )
        try:
            await conn.execute("LOAD 'auto_explain'")
        except asyncpg.InsufficientPrivilegeError:
            pytest.skip("auto_explain needs a superuser here")
        # Each statement of the function, planned generically as it would be after five runs.
        await conn.execute(
            "SET plan_cache_mode = force_generic_plan; SET auto_explain.log_min_duration = 0;"
            " SET auto_explain.log_nested_statements = on; SET auto_explain.log_level = notice"
        )
        plans: list[str] = []
        conn.add_log_listener(lambda _conn, message: plans.append(str(message.message)))
        results = await conn.fetch(INGEST, *_batch(0))  # the first batch's leads: each lookup finds its row
        mixed = _batch(0)
        mixed[1] = mixed[1][:64] + [f"+55418{n:08d}" for n in range(64)]  # half of them new
        results += await conn.fetch(INGEST, *mixed)
    finally:
        await conn.close()
    assert len(results) == 256 and all(r["r_created"] for r in results)
    text = "\n".join(plans)
    assert "Index Scan using uq_leads_tenant_phone on leads" in text
    assert "Index Scan using uq_messages_provider_external on messages" in text
    for scan in ("Bitmap Heap Scan", "Seq Scan", "Hash Join", "Merge Join"):
        assert scan not in text, f"{scan} in a plan of conversation.ingest_inbound_many:\n{text}"
