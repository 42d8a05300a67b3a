"""The gateway's IngestBatcher against a real conversation gRPC server and Postgres. A gate in front of
the real call holds batches in flight, so how messages group is observed, not timed."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest

import conversation
from conversation.config import Settings
from conversation.server import build
from gateway.batcher import IngestBatcher, ItemFailed
from kit import db, rpc
from kit.testing import settings_for_tests
from vellarys.conversation.v1 import conversation_pb2 as pb
from vellarys.conversation.v1 import conversation_pb2_grpc as pb_grpc


@pytest.fixture(scope="module")
async def stub(migrated, database_url) -> AsyncIterator[pb_grpc.ConversationServiceStub]:
    url = migrated("conversation", conversation.__file__)
    engine = db.create_engine(url, pool_size=4, max_overflow=4, application_name="test-gw-batcher")
    server = build(settings_for_tests(Settings, database_url), engine, port=0)
    await server.start()
    channel = rpc.make_channel(f"127.0.0.1:{server.port}", deadline=30)
    yield pb_grpc.ConversationServiceStub(channel)
    await channel.close()
    await server.stop(0)
    await engine.dispose()


class Gate:
    """Records each batch's size and holds it until opened, then makes the real call."""

    def __init__(self, stub: pb_grpc.ConversationServiceStub) -> None:
        self.stub = stub
        self.opened = asyncio.Event()
        self.sizes: list[int] = []

    async def send(self, request: pb.IngestBatchRequest) -> pb.IngestBatchResponse:
        self.sizes.append(len(request.items))
        await self.opened.wait()
        reply: pb.IngestBatchResponse = await self.stub.IngestBatch(request)
        return reply

    async def until_sent(self, count: int) -> None:
        while len(self.sizes) < count:
            await asyncio.sleep(0)


def message(tenant_id: str, sender: str = "+5541999990000") -> pb.IngestInboundRequest:
    inbound = pb.InboundMessage(
        provider="zapi",
        external_id=uuid.uuid4().hex,
        sender=sender,
        sender_name="Maria",
        kind=pb.MESSAGE_KIND_TEXT,
        text="Oi",
    )
    return pb.IngestInboundRequest(tenant_id=tenant_id, message=inbound)


async def test_a_quiet_gateway_sends_each_message_at_once(stub):
    gate = Gate(stub)
    gate.opened.set()
    batcher = IngestBatcher(gate.send, max_batch=128, max_inflight=2)
    tenant = str(uuid.uuid4())
    first = await batcher.ingest(message(tenant))
    second = await batcher.ingest(message(tenant))
    assert first.created and second.created and first.lead_id == second.lead_id
    assert gate.sizes == [1, 1]


async def test_messages_arriving_while_a_batch_is_in_flight_wait_for_it_together(stub):
    gate = Gate(stub)
    batcher = IngestBatcher(gate.send, max_batch=128, max_inflight=2, overlap_min=16)
    tenant = str(uuid.uuid4())
    calls = [asyncio.create_task(batcher.ingest(message(tenant, "+5541990000200")))]
    await gate.until_sent(1)
    calls += [
        asyncio.create_task(batcher.ingest(message(tenant, f"+55419900002{n:02d}"))) for n in range(1, 16)
    ]
    await asyncio.sleep(0)
    assert gate.sizes == [1]  # a slot is free, but 15 waiting are not worth a second call
    calls.append(asyncio.create_task(batcher.ingest(message(tenant, "+5541990000299"))))
    await gate.until_sent(2)
    assert gate.sizes == [1, 16]  # the sixteenth: now they are
    calls += [asyncio.create_task(batcher.ingest(message(tenant, f"+55419900003{n:02d}"))) for n in range(3)]
    await asyncio.sleep(0)
    assert gate.sizes == [1, 16]  # both slots busy
    gate.opened.set()
    replies = await asyncio.gather(*calls)
    assert gate.sizes == [1, 16, 3]
    assert len({r.message_id for r in replies}) == 20 and all(r.created for r in replies)


async def test_messages_arriving_while_batches_are_in_flight_leave_together(stub):
    gate = Gate(stub)
    # overlap_min=1: a second call goes out whenever a slot is free.
    batcher = IngestBatcher(gate.send, max_batch=128, max_inflight=2, overlap_min=1)
    tenant = str(uuid.uuid4())
    calls = [asyncio.create_task(batcher.ingest(message(tenant, f"+55419900000{n:02d}"))) for n in range(2)]
    await gate.until_sent(2)
    calls += [asyncio.create_task(batcher.ingest(message(tenant, f"+55419900001{n:02d}"))) for n in range(10)]
    await asyncio.sleep(0)
    assert gate.sizes == [1, 1]  # both slots busy: the ten wait for one to come back
    gate.opened.set()
    replies = await asyncio.gather(*calls)
    assert gate.sizes == [1, 1, 10]
    assert all(r.created and r.lead_created for r in replies)
    assert len({r.message_id for r in replies}) == 12


async def test_a_batch_never_exceeds_its_maximum(stub):
    gate = Gate(stub)
    batcher = IngestBatcher(gate.send, max_batch=4, max_inflight=1)
    tenant = str(uuid.uuid4())
    calls = [asyncio.create_task(batcher.ingest(message(tenant)))]
    await gate.until_sent(1)
    calls += [asyncio.create_task(batcher.ingest(message(tenant))) for _ in range(9)]
    gate.opened.set()
    replies = await asyncio.gather(*calls)
    assert gate.sizes == [1, 4, 4, 1]
    assert sum(r.created for r in replies) == 10


async def test_a_refused_item_fails_only_its_own_caller(stub):
    gate = Gate(stub)
    batcher = IngestBatcher(gate.send, max_batch=128, max_inflight=1)
    tenant = str(uuid.uuid4())
    blocker = asyncio.create_task(batcher.ingest(message(tenant)))
    await gate.until_sent(1)
    good = asyncio.create_task(batcher.ingest(message(tenant, "+5541988887777")))
    bad = asyncio.create_task(batcher.ingest(message(tenant, sender="")))
    gate.opened.set()
    assert (await blocker).created and (await good).created
    with pytest.raises(ItemFailed) as refused:
        await bad
    assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "sender" in refused.value.message
    assert gate.sizes == [1, 2]


async def test_a_failed_call_fails_every_caller_in_it():
    channel = rpc.make_channel("127.0.0.1:1", deadline=2)
    try:
        batcher = IngestBatcher(pb_grpc.ConversationServiceStub(channel).IngestBatch, max_inflight=1)
        tenant = str(uuid.uuid4())
        results = await asyncio.gather(
            *(batcher.ingest(message(tenant)) for _ in range(3)), return_exceptions=True
        )
    finally:
        await channel.close()
    assert all(isinstance(r, grpc.aio.AioRpcError) for r in results)
    assert {r.code() for r in results if isinstance(r, grpc.aio.AioRpcError)} == {grpc.StatusCode.UNAVAILABLE}


async def test_a_caller_that_goes_away_does_not_take_the_batch_with_it(stub):
    gate = Gate(stub)
    batcher = IngestBatcher(gate.send, max_batch=128, max_inflight=1)
    tenant = str(uuid.uuid4())
    gone_request = message(tenant, "+5541977776666")
    gone = asyncio.create_task(batcher.ingest(gone_request))
    await gate.until_sent(1)
    stays = asyncio.create_task(batcher.ingest(message(tenant, "+5541977775555")))
    await asyncio.sleep(0)
    gone.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await gone
    gate.opened.set()
    assert (await stays).created
    # The abandoned message was still stored: a provider retry of it is a duplicate.
    again = pb.IngestInboundRequest()
    again.CopyFrom(gone_request)
    assert not (await batcher.ingest(again)).created


async def test_limits_are_checked():
    async def send(request: pb.IngestBatchRequest) -> pb.IngestBatchResponse:
        raise AssertionError("not called")

    with pytest.raises(ValueError):
        IngestBatcher(send, max_batch=0)
    with pytest.raises(ValueError):
        IngestBatcher(send, max_inflight=0)
    with pytest.raises(ValueError):
        IngestBatcher(send, overlap_min=0)
