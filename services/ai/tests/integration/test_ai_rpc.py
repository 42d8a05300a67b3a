"""GenerateReply through a real in-process gRPC server and a real Postgres."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import grpc
import pytest

import ai
from ai.codec import decode_request
from ai.config import Settings
from ai.reply import Generated, Outcome
from ai.server import CallLog, build
from kit import db, rpc
from kit.dbadmin import asyncpg_dsn
from kit.testing import settings_for_tests
from vellarys.ai.v1 import ai_pb2 as pb
from vellarys.ai.v1 import ai_pb2_grpc as pb_grpc

UNREACHABLE_TENANT = "127.0.0.1:1"


# The module's server's call log: drained before a test reads ai.calls (rows are written after answers).
CALLS: dict[str, CallLog] = {}


async def logged() -> None:
    await CALLS["log"].drain()


@pytest.fixture(scope="module")
async def stub(migrated, database_url) -> AsyncIterator[pb_grpc.AiServiceStub]:
    url = migrated("ai", ai.__file__)
    engine = db.create_engine(url, pool_size=2, max_overflow=2, application_name="test-ai")
    # No tenant service listens there: the built-in responder still answers, with its defaults.
    settings = settings_for_tests(Settings, database_url, tenant_addr=UNREACHABLE_TENANT)
    server = build(settings, engine, port=0, calls=CALLS.setdefault("log", CallLog(engine)))
    await server.start()
    channel = rpc.make_channel(f"127.0.0.1:{server.port}")
    yield pb_grpc.AiServiceStub(channel)
    CALLS.clear()
    await channel.close()
    await server.stop(0)
    await engine.dispose()


@pytest.fixture
async def sql(database_url) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    yield conn
    await conn.close()


def request(tenant_id: str, lead_id: str, *texts: str, **fields: object) -> pb.GenerateReplyRequest:
    history = [pb.HistoryMessage(role=pb.ROLE_LEAD, text=t) for t in texts]
    return pb.GenerateReplyRequest(tenant_id=tenant_id, lead_id=lead_id, history=history, **fields)


class TestGenerateReply:
    async def test_reply_qualification_and_call_log(self, stub, sql):
        tenant, lead = str(uuid.uuid4()), str(uuid.uuid4())
        reply = await stub.GenerateReply(
            request(
                tenant, lead, "Oi, quero comprar um apartamento de 3 quartos até 800 mil", lead_name="Maria"
            )
        )
        assert reply.text.startswith("Olá, Maria!")
        assert (reply.outcome, reply.model, reply.handoff) == (pb.OUTCOME_OFFLINE, "offline", False)
        assert not reply.retry_later
        profile = {f.name: f for f in reply.profile}
        assert profile["budget"].value == "800000" and profile["budget"].evidence == "até 800 mil"
        assert reply.score == 20 + 15 + 10 + 20
        assert len(reply.score_reasons) == 4
        await logged()
        rows = await sql.fetch(
            "SELECT lead_id, model, prompt_tokens, completion_tokens, latency_ms, outcome"
            " FROM ai.calls WHERE tenant_id = $1",
            uuid.UUID(tenant),
        )
        assert len(rows) == 1
        row = rows[0]
        assert (str(row["lead_id"]), row["model"], row["outcome"]) == (lead, "offline", "offline")
        assert (row["prompt_tokens"], row["completion_tokens"]) == (0, 0) and row["latency_ms"] >= 0

    async def test_profile_round_trips_and_handoff(self, stub):
        known = [pb.QualificationField(name="region", value="Batel", evidence="no Batel", confidence=0.6)]
        history = [
            pb.HistoryMessage(role=pb.ROLE_LEAD, text="quero alugar"),
            pb.HistoryMessage(role=pb.ROLE_ASSISTANT, text="Que tipo de imóvel?"),
            pb.HistoryMessage(role=pb.ROLE_LEAD, text="Quero falar com um corretor"),
        ]
        reply = await stub.GenerateReply(
            pb.GenerateReplyRequest(
                tenant_id=str(uuid.uuid4()), lead_id=str(uuid.uuid4()), history=history, profile=known
            )
        )
        assert reply.handoff and "corretor" in reply.handoff_reason
        assert {f.name: f.value for f in reply.profile} == {"purpose": "rent", "region": "Batel"}

    async def test_every_call_is_logged(self, stub, sql):
        tenant = str(uuid.uuid4())
        await asyncio.gather(*(stub.GenerateReply(request(tenant, "", "oi")) for _ in range(5)))
        await logged()
        assert (
            await sql.fetchval("SELECT count(*) FROM ai.calls WHERE tenant_id = $1", uuid.UUID(tenant)) == 5
        )

    async def test_the_log_writes_a_window_of_replies_together(self, migrated, sql):
        """Rows wait for the window (or a full batch) and then go in one statement."""
        engine = db.create_engine(
            migrated("ai", ai.__file__), pool_size=1, max_overflow=0, application_name="t"
        )
        log = CallLog(engine, window=60, max_batch=3)
        tenant = str(uuid.uuid4())

        async def rows() -> int:
            return int(
                await sql.fetchval("SELECT count(*) FROM ai.calls WHERE tenant_id = $1", uuid.UUID(tenant))
            )

        reply = Generated(
            text="Oi!",
            profile=[],
            score=0,
            score_reasons=[],
            outcome=Outcome.OFFLINE,
            model="offline",
            latency_ms=3,
        )
        try:
            for _ in range(2):
                log.add(decode_request(request(tenant, str(uuid.uuid4()), "oi")), reply)
            await asyncio.sleep(0.2)
            assert await rows() == 0  # within the window: waiting for others
            log.add(decode_request(request(tenant, str(uuid.uuid4()), "oi")), reply)
            deadline = asyncio.get_running_loop().time() + 5
            while await rows() < 3:  # a full batch leaves at once
                assert asyncio.get_running_loop().time() < deadline, "the full batch was not written"
                await asyncio.sleep(0.02)
            log.add(decode_request(request(tenant, "", "oi")), reply)
            await log.drain()  # what waits is written on drain
            assert await rows() == 4
            stored = await sql.fetch(
                "SELECT outcome, model, latency_ms FROM ai.calls WHERE tenant_id = $1", uuid.UUID(tenant)
            )
            assert {tuple(r) for r in stored} == {("offline", "offline", 3)}
        finally:
            await log.drain()
            await engine.dispose()

    @pytest.mark.parametrize(
        ("tenant_id", "lead_id", "field"),
        [("", "", "tenant_id"), ("nope", "", "tenant_id"), (str(uuid.uuid4()), "42", "lead_id")],
    )
    async def test_invalid_ids(self, stub, tenant_id, lead_id, field):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.GenerateReply(request(tenant_id, lead_id, "oi"))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in err.value.details()

    async def test_history_without_role_is_invalid(self, stub, sql):
        tenant = str(uuid.uuid4())
        bad = pb.GenerateReplyRequest(tenant_id=tenant, history=[pb.HistoryMessage(text="oi")])
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.GenerateReply(bad)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "history[0].role" in err.value.details()
        await logged()
        assert (
            await sql.fetchval("SELECT count(*) FROM ai.calls WHERE tenant_id = $1", uuid.UUID(tenant)) == 0
        )


class TestGetUsage:
    async def test_per_day_totals(self, stub, sql):
        tenant = str(uuid.uuid4())
        for _ in range(3):
            await stub.GenerateReply(request(tenant, "", "quero comprar"))
        await stub.GenerateReply(request(tenant, "", "PARAR"))
        await logged()
        await sql.execute(
            "INSERT INTO ai.calls (id, tenant_id, model, prompt_tokens, completion_tokens, latency_ms, outcome,"
            " cost_usd) VALUES ($1, $2, 'gpt-4o', 1000, 100, 900, 'ok', 0.0035),"
            " ($3, $2, 'my-local-llm', 50, 5, 100, 'fallback', NULL)",
            uuid.uuid4(),
            uuid.UUID(tenant),
            uuid.uuid4(),
        )
        today = (await sql.fetchval("SELECT (now() AT TIME ZONE 'America/Sao_Paulo')::date")).isoformat()
        reply = await stub.GetUsage(pb.GetUsageRequest(tenant_id=tenant, from_day=today, to_day=today))
        assert len(reply.days) == 1
        day = reply.days[0]
        assert (day.day, day.calls, day.prompt_tokens, day.completion_tokens) == (today, 6, 1050, 105)
        assert day.cost_usd == pytest.approx(0.0035) and day.unpriced_calls == 1
        assert dict(day.outcomes) == {"offline": 3, "ok": 2, "fallback": 1}
        other = await stub.GetUsage(
            pb.GetUsageRequest(tenant_id=str(uuid.uuid4()), from_day=today, to_day=today)
        )
        assert list(other.days) == []

    @pytest.mark.parametrize(
        ("fields", "problem"),
        [
            ({"tenant_id": "", "from_day": "2026-01-01", "to_day": "2026-01-02"}, "tenant_id"),
            ({"tenant_id": "x", "from_day": "2026-01-01", "to_day": "2026-01-02"}, "tenant_id"),
            ({"from_day": "ontem", "to_day": "2026-01-02"}, "from_day"),
            ({"from_day": "2026-01-03", "to_day": "2026-01-02"}, "to_day"),
            ({"from_day": "2024-01-01", "to_day": "2026-01-02"}, "to_day"),
            ({"from_day": "2026-01-01", "to_day": "2026-01-02", "time_zone": "Mars/Olympus"}, "time_zone"),
        ],
    )
    async def test_invalid_arguments(self, stub, fields, problem):
        fields = {"tenant_id": str(uuid.uuid4()), **fields}
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.GetUsage(pb.GetUsageRequest(**fields))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert problem in err.value.details()


class TestOfflineBadInput:
    @pytest.mark.parametrize("text", ["", "😀😀", "x" * 50_000])
    async def test_never_silent(self, stub, text):
        reply = await stub.GenerateReply(request(str(uuid.uuid4()), "", text))
        assert reply.text and reply.outcome == pb.OUTCOME_OFFLINE

    async def test_media_without_text_is_answered(self, stub):
        history = [pb.HistoryMessage(role=pb.ROLE_LEAD, media_type="audio")]
        reply = await stub.GenerateReply(
            pb.GenerateReplyRequest(tenant_id=str(uuid.uuid4()), history=history)
        )
        assert reply.text and reply.outcome == pb.OUTCOME_OFFLINE

    async def test_opt_out_with_the_offline_responder(self, stub):
        reply = await stub.GenerateReply(request(str(uuid.uuid4()), "", "quero comprar", "Sair"))
        assert reply.opt_out and "VOLTAR" in reply.text


class TestHealth:
    async def test_serving_when_database_answers(self, migrated, database_url):
        engine = db.create_engine(
            migrated("ai", ai.__file__), pool_size=1, max_overflow=0, application_name="t"
        )
        server = build(settings_for_tests(Settings, database_url), engine, port=0)
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
                for _ in range(40):
                    if await rpc.check_health(channel, "vellarys.ai.v1.AiService") == "SERVING":
                        break
                    await asyncio.sleep(0.05)
                assert await rpc.check_health(channel, "vellarys.ai.v1.AiService") == "SERVING"
        finally:
            await server.stop(0)
            await engine.dispose()
