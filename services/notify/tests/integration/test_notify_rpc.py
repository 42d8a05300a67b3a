"""SendMessage through a real in-process gRPC server and a real Postgres."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import grpc
import pytest

import notify
from kit import db, rpc
from kit.dbadmin import asyncpg_dsn
from kit.testing import settings_for_tests
from notify.config import Settings
from notify.server import build
from vellarys.notify.v1 import notify_pb2 as pb
from vellarys.notify.v1 import notify_pb2_grpc as pb_grpc


@pytest.fixture(scope="module")
async def stub(migrated, database_url) -> AsyncIterator[pb_grpc.NotifyServiceStub]:
    url = migrated("notify", notify.__file__)
    engine = db.create_engine(url, pool_size=3, max_overflow=3, application_name="test-notify")
    server = build(settings_for_tests(Settings, database_url), engine, port=0)
    await server.start()
    channel = rpc.make_channel(f"127.0.0.1:{server.port}", deadline=30)
    yield pb_grpc.NotifyServiceStub(channel)
    await channel.close()
    await server.stop(0)
    await engine.dispose()


@pytest.fixture
async def sql(database_url) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    yield conn
    await conn.close()


def send(tenant_id: str | None = None, **fields: str) -> pb.SendMessageRequest:
    values = {
        "tenant_id": tenant_id or str(uuid.uuid4()),
        "message_id": str(uuid.uuid4()),
        "channel_id": str(uuid.uuid4()),
        "recipient": "+5541999990000",
        "text": "Olá! Qual região você prefere?",
    }
    values.update(fields)
    return pb.SendMessageRequest(**values)


class TestSendMessage:
    async def test_queues_a_delivery(self, stub, sql):
        request = send()
        reply = await stub.SendMessage(request)
        assert reply.created and reply.status == pb.DELIVERY_STATUS_QUEUED
        row = await sql.fetchrow(
            "SELECT * FROM notify.deliveries WHERE id = $1", uuid.UUID(reply.delivery_id)
        )
        assert (str(row["message_id"]), row["recipient"], row["text"]) == (
            request.message_id,
            request.recipient,
            request.text,
        )
        assert (row["status"], row["attempts"], row["provider_message_id"]) == ("queued", 0, None)

    async def test_same_message_id_is_idempotent(self, stub, sql):
        request = send()
        first = await stub.SendMessage(request)
        again = await stub.SendMessage(request)
        assert not again.created and again.delivery_id == first.delivery_id
        assert again.delivery == first.delivery  # the first delivery, as it was stored
        count = await sql.fetchval(
            "SELECT count(*) FROM notify.deliveries WHERE message_id = $1", uuid.UUID(request.message_id)
        )
        assert count == 1

    async def test_concurrent_copies_queue_once(self, stub, sql):
        request = send()
        replies = await asyncio.gather(*(stub.SendMessage(request) for _ in range(20)))
        assert sum(r.created for r in replies) == 1
        assert len({r.delivery_id for r in replies}) == 1

    async def test_same_message_id_in_another_tenant_is_another_delivery(self, stub):
        message_id = str(uuid.uuid4())
        a = await stub.SendMessage(send(message_id=message_id))
        b = await stub.SendMessage(send(message_id=message_id))
        assert a.created and b.created and a.delivery_id != b.delivery_id

    async def test_channel_is_optional(self, stub):
        assert (await stub.SendMessage(send(channel_id=""))).created

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("tenant_id", "x"),
            ("message_id", ""),
            ("message_id", "wamid.123"),
            ("channel_id", "instance-1"),
            ("recipient", " "),
            ("text", ""),
        ],
    )
    async def test_invalid_arguments_name_the_field(self, stub, field, value):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.SendMessage(send(**{field: value}))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in err.value.details()


class TestHealth:
    async def test_serving_when_database_answers(self, migrated, database_url):
        url = migrated("notify", notify.__file__)
        engine = db.create_engine(url, pool_size=1, max_overflow=0, application_name="t")
        server = build(settings_for_tests(Settings, database_url), engine, port=0)
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
                for _ in range(40):
                    if await rpc.check_health(channel, "vellarys.notify.v1.NotifyService") == "SERVING":
                        break
                    await asyncio.sleep(0.05)
                assert await rpc.check_health(channel, "vellarys.notify.v1.NotifyService") == "SERVING"
        finally:
            await server.stop(0)
            await engine.dispose()
