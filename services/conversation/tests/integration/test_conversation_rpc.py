"""IngestInbound and GetLead through a real in-process gRPC server and a real Postgres."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import asyncpg
import grpc
import pytest

import conversation
from conversation.config import Settings
from conversation.server import build
from kit import db, rpc
from kit.dbadmin import asyncpg_dsn
from kit.testing import settings_for_tests
from vellarys.conversation.v1 import conversation_pb2 as pb
from vellarys.conversation.v1 import conversation_pb2_grpc as pb_grpc


@pytest.fixture(scope="module")
async def stub(migrated, database_url) -> AsyncIterator[pb_grpc.ConversationServiceStub]:
    url = migrated("conversation", conversation.__file__)
    engine = db.create_engine(url, pool_size=5, max_overflow=5, application_name="test-conversation")
    server = build(settings_for_tests(Settings, database_url), engine, port=0)
    await server.start()
    channel = rpc.make_channel(f"127.0.0.1:{server.port}", deadline=30)
    yield pb_grpc.ConversationServiceStub(channel)
    await channel.close()
    await server.stop(0)
    await engine.dispose()


@pytest.fixture
async def sql(database_url) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    yield conn
    await conn.close()


def inbound(tenant_id: str, sender: str = "+5541999990000", **fields: object) -> pb.IngestInboundRequest:
    values: dict[str, object] = {
        "provider": "zapi",
        "external_id": uuid.uuid4().hex,
        "sender": sender,
        "sender_name": "Maria",
        "kind": pb.MESSAGE_KIND_TEXT,
        "text": "Oi, vi o apartamento de 3 quartos no Batel",
    }
    values.update(fields)
    return pb.IngestInboundRequest(tenant_id=tenant_id, message=pb.InboundMessage(**values))


def tenant() -> str:
    return str(uuid.uuid4())


class TestIngestInbound:
    async def test_new_lead_and_message(self, stub, sql):
        t = tenant()
        reply = await stub.IngestInbound(inbound(t, raw_json=json.dumps({"messageId": "x"})))
        assert reply.created and reply.lead_created
        row = await sql.fetchrow(
            "SELECT direction, kind, text, raw, conversation_id FROM conversation.messages WHERE id = $1",
            uuid.UUID(reply.message_id),
        )
        assert (row["direction"], row["kind"]) == ("inbound", "text")
        assert json.loads(row["raw"]) == {"messageId": "x"}
        owner = await sql.fetchval(
            "SELECT owner FROM conversation.conversations WHERE id = $1", row["conversation_id"]
        )
        assert owner == "ai"
        lead = (await stub.GetLead(pb.GetLeadRequest(tenant_id=t, lead_id=reply.lead_id))).lead
        assert (lead.phone, lead.name, lead.status, lead.message_count) == (
            "+5541999990000",
            "Maria",
            "new",
            1,
        )
        assert lead.last_message_at.seconds > 0

    async def test_duplicate_webhook_is_stored_once(self, stub, sql):
        t = tenant()
        request = inbound(t)
        first = await stub.IngestInbound(request)
        again = await stub.IngestInbound(request)
        assert not again.created and not again.lead_created
        assert (again.message_id, again.lead_id) == (first.message_id, first.lead_id)
        count = await sql.fetchval(
            "SELECT count(*) FROM conversation.messages WHERE tenant_id = $1", uuid.UUID(t)
        )
        assert count == 1
        lead = (await stub.GetLead(pb.GetLeadRequest(tenant_id=t, lead_id=first.lead_id))).lead
        assert lead.message_count == 1

    async def test_fifty_concurrent_copies_store_one_message_and_one_lead(self, stub, sql):
        t = tenant()
        request = inbound(t)
        replies = await asyncio.gather(*(stub.IngestInbound(request) for _ in range(50)))
        assert sum(r.created for r in replies) == 1
        assert sum(r.lead_created for r in replies) == 1
        assert len({r.message_id for r in replies}) == 1 and len({r.lead_id for r in replies}) == 1
        tid = uuid.UUID(t)
        assert await sql.fetchval("SELECT count(*) FROM conversation.messages WHERE tenant_id = $1", tid) == 1
        assert await sql.fetchval("SELECT count(*) FROM conversation.leads WHERE tenant_id = $1", tid) == 1
        assert (
            await sql.fetchval("SELECT count(*) FROM conversation.conversations WHERE tenant_id = $1", tid)
            == 1
        )
        lead = (await stub.GetLead(pb.GetLeadRequest(tenant_id=t, lead_id=replies[0].lead_id))).lead
        assert lead.message_count == 1

    async def test_two_messages_same_sender_one_lead(self, stub):
        t = tenant()
        first = await stub.IngestInbound(inbound(t, sender_name=""))
        second = await stub.IngestInbound(inbound(t, sender_name="Maria Souza", text="Até 800 mil"))
        assert first.lead_created and not second.lead_created
        assert first.lead_id == second.lead_id and first.message_id != second.message_id
        lead = (await stub.GetLead(pb.GetLeadRequest(tenant_id=t, lead_id=first.lead_id))).lead
        assert (lead.message_count, lead.name) == (2, "Maria Souza")
        third = await stub.IngestInbound(inbound(t, sender_name=""))
        lead = (await stub.GetLead(pb.GetLeadRequest(tenant_id=t, lead_id=third.lead_id))).lead
        assert (lead.message_count, lead.name) == (3, "Maria Souza")

    async def test_same_external_id_in_two_tenants_are_two_messages(self, stub):
        request_a, external = inbound(tenant()), uuid.uuid4().hex
        request_a.message.external_id = external
        request_b = inbound(tenant(), external_id=external)
        assert (await stub.IngestInbound(request_a)).created
        assert (await stub.IngestInbound(request_b)).created

    async def test_from_me_is_outbound_human(self, stub, sql):
        t = tenant()
        reply = await stub.IngestInbound(inbound(t, from_me=True, text="Bom dia, aqui é o corretor João"))
        direction = await sql.fetchval(
            "SELECT direction FROM conversation.messages WHERE id = $1", uuid.UUID(reply.message_id)
        )
        assert direction == "outbound_human"

    async def test_media_location_and_unknown_raw_are_kept(self, stub, sql):
        t = tenant()
        reply = await stub.IngestInbound(
            inbound(
                t,
                kind=pb.MESSAGE_KIND_IMAGE,
                text="",
                media=pb.Media(url="https://cdn.example/1.jpg", mime_type="image/jpeg", caption="fachada"),
                location=pb.Location(latitude=-25.44, longitude=-49.29, name="Batel"),
                raw_json="not json",
            )
        )
        row = await sql.fetchrow(
            "SELECT kind, media, location, raw FROM conversation.messages WHERE id = $1",
            uuid.UUID(reply.message_id),
        )
        assert row["kind"] == "image"
        assert json.loads(row["media"])["caption"] == "fachada"
        assert json.loads(row["location"])["latitude"] == -25.44
        assert json.loads(row["raw"]) == "not json"

    @pytest.mark.parametrize(
        ("field", "value", "expected"),
        [
            ("sender", "", "message.sender"),
            ("external_id", "", "message.external_id"),
            ("provider", "", "message.provider"),
            ("channel_id", "instance-1", "message.channel_id"),
        ],
    )
    async def test_invalid_message_fields(self, stub, field, value, expected):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.IngestInbound(inbound(tenant(), **{field: value}))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert expected in err.value.details()

    @pytest.mark.parametrize("bad", ["", "not-a-uuid"])
    async def test_invalid_tenant_id(self, stub, bad):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.IngestInbound(inbound(bad))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "tenant_id" in err.value.details()


class TestGetLead:
    async def test_other_tenants_lead_is_not_found(self, stub):
        owner = await stub.IngestInbound(inbound(tenant()))
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.GetLead(pb.GetLeadRequest(tenant_id=tenant(), lead_id=owner.lead_id))
        assert err.value.code() == grpc.StatusCode.NOT_FOUND

    async def test_unknown_lead_is_not_found(self, stub):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.GetLead(pb.GetLeadRequest(tenant_id=tenant(), lead_id=str(uuid.uuid4())))
        assert err.value.code() == grpc.StatusCode.NOT_FOUND

    async def test_malformed_lead_id(self, stub):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.GetLead(pb.GetLeadRequest(tenant_id=tenant(), lead_id="42"))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "lead_id" in err.value.details()


async def health_of(url: str, database_url: str) -> str:
    engine = db.create_engine(url, pool_size=1, max_overflow=0, application_name="test-health")
    server = build(settings_for_tests(Settings, database_url), engine, port=0)
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            for _ in range(40):
                status = await rpc.check_health(channel, "vellarys.conversation.v1.ConversationService")
                if status == "SERVING":
                    break
                await asyncio.sleep(0.05)
            return status
    finally:
        await server.stop(0)
        await engine.dispose()


class TestHealth:
    async def test_serving_when_database_answers(self, migrated, database_url):
        assert await health_of(migrated("conversation", conversation.__file__), database_url) == "SERVING"

    async def test_not_serving_without_database(self, database_url):
        dead = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
        assert await health_of(dead, database_url) == "NOT_SERVING"
