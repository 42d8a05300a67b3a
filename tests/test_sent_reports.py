"""notify's reports of sent messages (notify.reports.SentReports) against the real conversation service:
concurrent reports share calls, each caller gets its own answer, and a dead peer never hangs one."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from kit import metrics, rpc
from kit.context import CallContext
from kit.dbadmin import asyncpg_dsn
from kit.ports import free_port
from notify.reports import SentReports
from vellarys.conversation.v1 import conversation_pb2 as pb
from vellarys.conversation.v1 import conversation_pb2_grpc as pb_grpc

SERVICE = CallContext(role="service").metadata()


@pytest.fixture
async def sql(database_url) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    yield conn
    await conn.close()


async def outbound_messages(servers, sql, tenant_id: str, n: int) -> list[str]:
    """n AI messages stored for sending (no provider id yet), after one inbound message of a lead."""
    channel = rpc.make_channel(f"127.0.0.1:{servers['conversation'].port}", deadline=10)
    stub = pb_grpc.ConversationServiceStub(channel)
    inbound = pb.InboundMessage(
        provider="zapi",
        external_id=uuid.uuid4().hex,
        sender="+5541988887777",
        kind=pb.MESSAGE_KIND_TEXT,
        text="Oi",
    )
    first = await stub.IngestInbound(
        pb.IngestInboundRequest(tenant_id=tenant_id, message=inbound), metadata=SERVICE
    )
    await channel.close()
    ids = [uuid.uuid4() for _ in range(n)]
    await sql.executemany(
        "INSERT INTO conversation.messages (id, tenant_id, lead_id, conversation_id, direction, provider, kind,"
        " text) VALUES ($1, $2, $3, $4, 'outbound_ai', 'zapi', 'text', 'Olá!')",
        [(i, uuid.UUID(tenant_id), uuid.UUID(first.lead_id), uuid.UUID(first.conversation_id)) for i in ids],
    )
    return [str(i) for i in ids]


def batch_calls() -> float:
    """RecordOutboundSentBatch calls the in-process conversation server has answered so far."""
    return sum(
        sample.value
        for family in metrics.GRPC_HANDLED.collect()
        for sample in family.samples
        if sample.name.endswith("_total") and sample.labels.get("method") == "RecordOutboundSentBatch"
    )


async def test_concurrent_reports_share_calls_and_each_gets_its_answer(servers, sql):
    tenant_id = str(uuid.uuid4())
    ids = await outbound_messages(servers, sql, tenant_id, 30)
    channel = rpc.make_channel(f"127.0.0.1:{servers['conversation'].port}", deadline=10)
    reports = SentReports(channel, 5.0, window=0.05, max_batch=8)
    calls_before = batch_calls()
    answers = await asyncio.gather(
        *(reports.record_outbound_sent(tenant_id, m, "zapi", f"wamid.{m}") for m in ids),
        reports.record_outbound_sent(tenant_id, str(uuid.uuid4()), "zapi", "wamid.nobody"),  # unknown
        reports.record_outbound_sent(str(uuid.uuid4()), ids[0], "zapi", "wamid.theft"),  # another tenant
        reports.record_outbound_sent(tenant_id, "not-an-id", "zapi", "wamid.bad"),
    )
    await channel.close()
    assert answers == [True] * 30 + [False, False, False]
    assert batch_calls() - calls_before == 5  # 33 reports, at most 8 per call
    rows = await sql.fetch(
        "SELECT id, external_id FROM conversation.messages WHERE tenant_id = $1 AND direction = 'outbound_ai'",
        uuid.UUID(tenant_id),
    )
    assert {str(r["id"]): r["external_id"] for r in rows} == {m: f"wamid.{m}" for m in ids}


async def test_an_unreachable_conversation_service_fails_the_reports_without_hanging():
    port = free_port()  # a port nothing listens on
    channel = rpc.make_channel(f"127.0.0.1:{port}", deadline=1)
    reports = SentReports(channel, 1.0, window=0.01)
    answers = await asyncio.wait_for(
        asyncio.gather(
            *(
                reports.record_outbound_sent(str(uuid.uuid4()), str(uuid.uuid4()), "zapi", "x")
                for _ in range(3)
            )
        ),
        10,
    )
    await channel.close()
    assert answers == [False, False, False]
