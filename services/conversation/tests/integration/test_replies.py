"""Reply jobs end to end in-process: real conversation, ai (model path against a fake OpenAI over HTTP),
tenant and notify servers over one real Postgres. Workers are driven step by step (run_once) so every
race is staged deterministically.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest

import ai
import conversation
import notify
import tenant
from ai.config import Settings as AiSettings
from ai.server import build as build_ai
from conversation.config import Settings
from conversation.ports import AiPort, DebounceCache, NotifyPort
from conversation.repository_jobs import ReplyJobRepository
from conversation.server import Peers, build, make_worker
from conversation.worker import ReplyWorker
from kit import db, rpc
from kit.context import CallContext
from kit.fakes.openai import FakeOpenAI, status, text, tool_calls
from kit.testing import settings_for_tests
from notify.config import Settings as NotifySettings
from notify.server import build as build_notify
from tenant.config import Settings as TenantSettings
from tenant.server import build as build_tenant
from vellarys.ai.v1 import ai_pb2_grpc as apb_grpc
from vellarys.conversation.v1 import conversation_pb2 as pb
from vellarys.conversation.v1 import conversation_pb2_grpc as pb_grpc
from vellarys.notify.v1 import notify_pb2_grpc as npb_grpc
from vellarys.tenant.v1 import tenant_pb2 as tpb
from vellarys.tenant.v1 import tenant_pb2_grpc as tpb_grpc

FALLBACK = "Estamos com instabilidade, já já respondemos."
SUPER = CallContext(tenant_id=str(uuid.uuid4()), actor_id=str(uuid.uuid4()), role="superadmin").metadata()
OK = "Olá! Como posso ajudar?"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(default=text(OK)) as server:
        yield server


@pytest.fixture(autouse=True)
async def quiet_queue(env, sql, fake: FakeOpenAI) -> AsyncIterator[None]:
    """Each test starts with an empty queue: jobs other tests (and modules) left are run or dropped."""
    await sql.execute(
        "UPDATE conversation.reply_jobs SET status = 'cancelled'"
        " WHERE tenant_id <> $1 AND status IN ('queued', 'retry_wait', 'running')",
        uuid.UUID(env["tenant_id"]),
    )
    await drain(env["worker"])
    fake.clear()
    fake.default = text(OK)
    yield
    fake.clear()
    fake.default = text(OK)


async def _server(built: rpc.Server, stack: list[Any]) -> grpc.aio.Channel:
    await built.start()
    channel = rpc.make_channel(f"127.0.0.1:{built.port}", deadline=30)
    stack.append((built, channel))
    return channel


@pytest.fixture(scope="module")
async def env(migrated, database_url, fake) -> AsyncIterator[dict[str, Any]]:
    stack: list[Any] = []
    engines = {
        name: db.create_engine(
            migrated(name, pkg.__file__), pool_size=5, max_overflow=5, application_name=name
        )
        for name, pkg in (("tenant", tenant), ("ai", ai), ("notify", notify), ("conversation", conversation))
    }
    tenant_settings = settings_for_tests(TenantSettings, database_url, tenants_hard_limit=1000)
    tenant_channel = await _server(build_tenant(tenant_settings, engines["tenant"], port=0), stack)
    tenants = tpb_grpc.TenantServiceStub(tenant_channel)
    ai_settings = settings_for_tests(
        AiSettings,
        database_url,
        openai_api_key="sk-test",
        openai_base_url=fake.base_url,
        ai_timeout_seconds=5,
        ai_breaker_failures=1000,
        tenant_addr=f"127.0.0.1:{stack[0][0].port}",
    )
    ai_channel = await _server(build_ai(ai_settings, engines["ai"], port=0), stack)
    notify_settings = settings_for_tests(NotifySettings, database_url, sender_enabled=False)
    notify_channel = await _server(build_notify(notify_settings, engines["notify"], port=0), stack)
    peers = Peers(
        AiPort(apb_grpc.AiServiceStub(ai_channel), 20),
        NotifyPort(npb_grpc.NotifyServiceStub(notify_channel), 5),
        None,  # debounce comes from the requests here; DebounceCache is tested on its own
    )
    settings = settings_for_tests(
        Settings, database_url, reply_debounce_seconds=0, reply_sweep_grace_seconds=0
    )
    conv_channel = await _server(build(settings, engines["conversation"], port=0, peers=peers), stack)
    tid = await _tenant(tenants)
    yield {
        "stub": pb_grpc.ConversationServiceStub(conv_channel),
        "tenants": tenants,
        "tenant_id": tid,
        "settings": settings,
        "engine": engines["conversation"],
        "peers": peers,
        "worker": make_worker(settings, engines["conversation"], peers, "w1"),
        "worker2": make_worker(settings, engines["conversation"], peers, "w2"),
    }
    for server, channel in reversed(stack):
        await channel.close()
        await server.stop(0)
    for engine in engines.values():
        await engine.dispose()


async def _tenant(tenants: tpb_grpc.TenantServiceStub) -> str:
    created = await tenants.CreateTenant(
        tpb.CreateTenantRequest(name="Imobiliária Sol", slug=f"sol-{uuid.uuid4().hex[:8]}", niche_id=1),
        metadata=SUPER,
    )
    tid = created.tenant.id
    admin = CallContext(tenant_id=tid, actor_id=str(uuid.uuid4()), role="admin").metadata()
    await tenants.UpdateAiSettings(
        tpb.UpdateAiSettingsRequest(
            tenant_id=tid, settings=tpb.AiSettings(fallback_message=FALLBACK), fields=["fallback_message"]
        ),
        metadata=admin,
    )
    return tid


def phone() -> str:
    return "+55419" + str(uuid.uuid4().int)[:8]


def inbound(
    env: dict, sender: str, body: str, *, debounce: int = 0, **fields: Any
) -> pb.IngestInboundRequest:
    message = pb.InboundMessage(
        provider="zapi",
        external_id=uuid.uuid4().hex,
        sender=sender,
        sender_name="Ana",
        kind=pb.MESSAGE_KIND_TEXT,
        text=body,
        **fields,
    )
    return pb.IngestInboundRequest(
        tenant_id=env["tenant_id"], message=message, reply_debounce_seconds=debounce
    )


def seller(env: dict, user_id: str | None = None) -> tuple[tuple[str, str], ...]:
    return CallContext(
        tenant_id=env["tenant_id"], actor_id=user_id or str(uuid.uuid4()), role="seller"
    ).metadata()


async def drain(worker: ReplyWorker) -> int:
    runs = 0
    while await worker.run_once():
        runs += 1
    return runs


async def outbound(sql, lead_id: str, direction: str = "outbound_ai") -> list[str]:
    rows = await sql.fetch(
        "SELECT text FROM conversation.messages WHERE lead_id = $1 AND direction = $2 ORDER BY created_at",
        uuid.UUID(lead_id),
        direction,
    )
    return [r["text"] for r in rows]


async def deliveries(sql, lead_id: str) -> list[str]:
    """What notify queued for this lead's messages (by message id)."""
    rows = await sql.fetch(
        "SELECT d.text FROM notify.deliveries d WHERE d.message_id IN"
        " (SELECT id FROM conversation.messages WHERE lead_id = $1) ORDER BY d.created_at",
        uuid.UUID(lead_id),
    )
    return [r["text"] for r in rows]


async def job(sql, lead_id: str) -> Any:
    return await sql.fetchrow(
        "SELECT * FROM conversation.reply_jobs WHERE lead_id = $1 ORDER BY created_at DESC LIMIT 1",
        uuid.UUID(lead_id),
    )


async def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


class TestDebounce:
    async def test_a_burst_of_three_gets_one_reply_that_considers_all(self, env, sql, fake):
        lead, texts = phone(), ["Oi", "vi o apartamento do Batel", "ainda está disponível?"]
        for body in texts:
            reply = await env["stub"].IngestInbound(inbound(env, lead, body, debounce=1))
            assert reply.reply_scheduled
        assert (
            await sql.fetchval(
                "SELECT count(*) FROM conversation.reply_jobs WHERE lead_id = $1", uuid.UUID(reply.lead_id)
            )
            == 1
        )
        assert not await env["worker"].run_once()  # still inside the debounce window
        await asyncio.sleep(1.1)
        assert await drain(env["worker"]) == 1
        assert len(fake.requests) == 1
        shown = fake.requests[0].text()
        assert all(body in shown for body in texts)
        assert [shown.index(body) for body in texts] == sorted(shown.index(body) for body in texts)
        assert await outbound(sql, reply.lead_id) == [OK]
        assert await deliveries(sql, reply.lead_id) == [OK]

    async def test_the_model_sees_the_newest_messages_oldest_first(self, env, sql, fake):
        from conversation.replies import HISTORY

        lead = phone()
        texts = [f"mensagem número {n:02d}" for n in range(HISTORY + 5)]
        for body in texts:
            reply = await env["stub"].IngestInbound(inbound(env, lead, body, debounce=1))
        await asyncio.sleep(1.1)
        assert await drain(env["worker"]) == 1
        shown = fake.requests[-1].text()
        kept, dropped = texts[-HISTORY:], texts[:-HISTORY]
        assert all(body in shown for body in kept) and not any(body in shown for body in dropped)
        assert [shown.index(body) for body in kept] == sorted(shown.index(body) for body in kept)
        assert await outbound(sql, reply.lead_id) == [OK]

    async def test_the_tenant_setting_is_read_off_the_ingest_path(self, env):
        cache = DebounceCache(env["tenants"], default=3.0, ttl=60)
        assert cache.seconds(env["tenant_id"]) == 3.0  # unknown yet: the default, and a refresh starts
        for _ in range(100):
            await asyncio.sleep(0.02)
            if cache.seconds(env["tenant_id"]) != 3.0:
                break
        assert cache.seconds(env["tenant_id"]) == 3.0  # the niche default of the tenant's settings


class TestWorkers:
    async def test_two_workers_never_process_the_same_job(self, env, sql, fake):
        leads = [(await env["stub"].IngestInbound(inbound(env, phone(), "Oi"))).lead_id for _ in range(8)]
        await asyncio.gather(drain(env["worker"]), drain(env["worker2"]))
        assert len(fake.requests) == 8
        for lead_id in leads:
            assert await outbound(sql, lead_id) == [OK]
            assert await deliveries(sql, lead_id) == [OK]

    async def test_a_worker_killed_mid_job_is_replaced_after_its_lease(self, env, sql, fake):
        short = env["settings"].model_copy(update={"reply_lease_seconds": 1})
        a = make_worker(short, env["engine"], env["peers"], "a")
        b = make_worker(short, env["engine"], env["peers"], "b")
        fake.queue(text("resposta lenta", delay=3))
        lead = (await env["stub"].IngestInbound(inbound(env, phone(), "Oi"))).lead_id
        task = asyncio.create_task(a.run_once())

        async def running() -> bool:
            row = await job(sql, lead)
            return row["status"] == "running" and len(fake.requests) == 1

        await wait_for(running)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not await b.run_once()  # the lease still holds
        await asyncio.sleep(1.1)
        assert await b.run_once()
        assert await outbound(sql, lead) == [OK]
        assert await deliveries(sql, lead) == [OK]
        row = await job(sql, lead)
        assert (row["status"], row["attempts"]) == ("done", 2)

    async def test_the_loop_survives_an_unreachable_database(self, env, sql):
        dead = db.create_engine(
            "postgresql+asyncpg://nobody@127.0.0.1:1/none", pool_size=1, max_overflow=0, application_name="x"
        )
        worker = make_worker(env["settings"], dead, env["peers"], "dead")
        worker.config = dataclasses.replace(worker.config, workers=1, poll=0.05)
        worker.start()
        lead = (await env["stub"].IngestInbound(inbound(env, phone(), "Oi"))).lead_id
        await asyncio.sleep(0.4)
        assert all(not t.done() for t in worker._tasks)
        worker.sessions = db.session_factory(env["engine"])  # the database is back

        async def answered() -> bool:
            return await outbound(sql, lead) == [OK]

        await wait_for(answered)
        await worker.stop()
        await dead.dispose()

    async def test_a_reply_stored_but_not_handed_to_notify_is_swept(self, env, sql):
        broken = Peers(
            env["peers"].ai, NotifyPort(npb_grpc.NotifyServiceStub(rpc.make_channel("127.0.0.1:1")), 1), None
        )
        crashing = make_worker(env["settings"], env["engine"], broken, "crash")
        lead = (await env["stub"].IngestInbound(inbound(env, phone(), "Oi"))).lead_id
        assert await crashing.run_once()
        assert await outbound(sql, lead) == [OK]
        assert await deliveries(sql, lead) == []
        assert await env["worker"].sweep() >= 1
        assert await deliveries(sql, lead) == [OK]
        assert await env["worker"].sweep() == 0

    async def test_queue_gauges(self, env):
        await env["stub"].IngestInbound(inbound(env, phone(), "Oi"))
        depth, age = await env["worker"].sample()
        assert depth >= 1 and age >= 0
        await drain(env["worker"])
        assert (await env["worker"].sample())[0] == 0

    async def test_the_depth_is_counted_up_to_its_cap(self, env):
        for _ in range(3):
            await env["stub"].IngestInbound(inbound(env, phone(), "Oi"))
        async with env["worker"].sessions.begin() as session:
            jobs = ReplyJobRepository(session)
            assert (await jobs.queue_stats())[0] >= 3
            depth, age = await jobs.queue_stats(cap=2)
        assert depth == 2 and age >= 0
        await drain(env["worker"])


class TestModelFailure:
    async def test_fallback_once_then_the_real_answer_when_the_model_is_back(self, env, sql, fake):
        fake.default = status(500)
        lead = (await env["stub"].IngestInbound(inbound(env, phone(), "Oi, quero alugar"))).lead_id
        assert await env["worker"].run_once()
        assert await outbound(sql, lead) == [FALLBACK]
        row = await job(sql, lead)
        assert (row["status"], row["fallback_sent"]) == ("retry_wait", True)
        assert row["run_after"] > datetime.now(UTC) + timedelta(seconds=30)
        due = "UPDATE conversation.reply_jobs SET run_after = now() WHERE id = $1"
        await sql.execute(due, row["id"])
        assert await env["worker"].run_once()  # still down: no second fallback
        assert await outbound(sql, lead) == [FALLBACK]
        assert (await job(sql, lead))["status"] == "retry_wait"
        fake.default = text("Temos ótimas opções para alugar!")
        await sql.execute(due, row["id"])
        assert await env["worker"].run_once()
        assert await outbound(sql, lead) == [FALLBACK, "Temos ótimas opções para alugar!"]
        assert await deliveries(sql, lead) == [FALLBACK, "Temos ótimas opções para alugar!"]
        assert (await job(sql, lead))["status"] == "done"

    async def test_a_closed_window_hands_the_lead_to_a_person(self, env, sql, fake):
        fake.default = status(500)
        old = inbound(env, phone(), "Oi")
        old.message.sent_at.FromDatetime(datetime.now(UTC) - timedelta(hours=25))
        r = await env["stub"].IngestInbound(old)
        assert await env["worker"].run_once()
        assert await outbound(sql, r.lead_id) == []
        assert (await job(sql, r.lead_id))["status"] == "failed"
        events = await env["stub"].ListConversationEvents(
            pb.ListConversationEventsRequest(tenant_id=env["tenant_id"], lead_id=r.lead_id)
        )
        assert [(e.reason, e.owner) for e in events.events] == [("model_unavailable_window_closed", "nobody")]


class TestOptOut:
    async def test_one_confirmation_then_silence_until_opt_in(self, env, sql):
        stub, lead = env["stub"], phone()
        r = await stub.IngestInbound(inbound(env, lead, "PARAR"))
        await drain(env["worker"])
        assert len(await outbound(sql, r.lead_id)) == 1
        got = await stub.GetLead(pb.GetLeadRequest(tenant_id=env["tenant_id"], lead_id=r.lead_id))
        assert got.lead.opted_out and got.lead.status == "opted_out"
        quiet = await stub.IngestInbound(inbound(env, lead, "Oi, tem casa?"))
        assert quiet.auto_reply and not quiet.reply_scheduled
        assert await drain(env["worker"]) == 0
        back = await stub.IngestInbound(inbound(env, lead, "VOLTAR"))
        assert back.reply_scheduled
        await drain(env["worker"])
        assert len(await outbound(sql, r.lead_id)) == 2
        got = await stub.GetLead(pb.GetLeadRequest(tenant_id=env["tenant_id"], lead_id=r.lead_id))
        assert not got.lead.opted_out
        assert (await stub.IngestInbound(inbound(env, lead, "Oi de novo"))).reply_scheduled

    async def test_a_seller_cannot_message_an_opted_out_lead(self, env):
        stub, lead = env["stub"], phone()
        r = await stub.IngestInbound(inbound(env, lead, "SAIR"))
        await drain(env["worker"])
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.SendHumanMessage(
                pb.SendHumanMessageRequest(tenant_id=env["tenant_id"], lead_id=r.lead_id, text="Oi!"),
                metadata=seller(env),
            )
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "opted out" in (err.value.details() or "")


class TestOwnership:
    async def test_takeover_racing_a_reply_wins_and_the_ai_stays_silent(self, env, sql, fake):
        fake.queue(text("não deveria sair", delay=1.5))
        lead = (await env["stub"].IngestInbound(inbound(env, phone(), "Oi"))).lead_id
        task = asyncio.create_task(env["worker"].run_once())

        async def asked() -> bool:
            return len(fake.requests) == 1

        await wait_for(asked)  # the model is thinking: the worker read version and owner before this
        user = str(uuid.uuid4())
        taken = await env["stub"].TakeOver(
            pb.TakeOverRequest(tenant_id=env["tenant_id"], lead_id=lead), metadata=seller(env, user)
        )
        assert (taken.lead.owner, taken.lead.owner_user_id) == ("human", user)
        assert await task
        assert await outbound(sql, lead) == []
        assert await deliveries(sql, lead) == []
        row = await job(sql, lead)
        assert (row["status"], row["outcome"]) == ("cancelled", "human_took_over")

    async def test_a_message_from_the_business_phone_silences_the_ai(self, env, sql):
        stub, lead = env["stub"], phone()
        r = await stub.IngestInbound(inbound(env, lead, "Oi", debounce=30))
        assert r.reply_scheduled
        await stub.IngestInbound(inbound(env, lead, "Oi Ana, sou o Pedro", from_me=True))
        assert (await job(sql, r.lead_id))["status"] == "cancelled"
        again = await stub.IngestInbound(inbound(env, lead, "Oi Pedro!"))
        assert not again.reply_scheduled
        assert await drain(env["worker"]) == 0
        assert await outbound(sql, r.lead_id) == []

    async def test_seller_reply_return_to_ai_and_the_timeline(self, env, sql):
        stub, lead, user = env["stub"], phone(), str(uuid.uuid4())
        r = await stub.IngestInbound(inbound(env, lead, "Oi", debounce=30))
        sent = await stub.SendHumanMessage(
            pb.SendHumanMessageRequest(tenant_id=env["tenant_id"], lead_id=r.lead_id, text="Oi, sou a Carla"),
            metadata=seller(env, user),
        )
        assert sent.message.direction == pb.DIRECTION_OUTBOUND_HUMAN and sent.delivery_id
        assert await deliveries(sql, r.lead_id) == ["Oi, sou a Carla"]
        assert (await job(sql, r.lead_id))["status"] == "cancelled"
        back = await stub.ReturnToAi(
            pb.ReturnToAiRequest(tenant_id=env["tenant_id"], lead_id=r.lead_id), metadata=seller(env, user)
        )
        assert back.lead.owner == "ai"
        assert (await stub.IngestInbound(inbound(env, lead, "Ok"))).reply_scheduled
        events = await stub.ListConversationEvents(
            pb.ListConversationEventsRequest(tenant_id=env["tenant_id"], lead_id=r.lead_id),
            metadata=seller(env),
        )
        assert [(e.reason, e.owner, e.actor) for e in events.events] == [
            ("seller_message", "human", user),
            ("return_to_ai", "ai", user),
        ]

    async def test_viewers_cannot_take_over(self, env):
        r = await env["stub"].IngestInbound(inbound(env, phone(), "Oi", debounce=30))
        viewer = CallContext(tenant_id=env["tenant_id"], actor_id=str(uuid.uuid4()), role="viewer").metadata()
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await env["stub"].TakeOver(
                pb.TakeOverRequest(tenant_id=env["tenant_id"], lead_id=r.lead_id), metadata=viewer
            )
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


class TestTrace:
    async def test_the_reply_continues_the_ingest_trace(self, env, sql, spans):
        spans.clear()
        r = await env["stub"].IngestInbound(inbound(env, phone(), "Oi"))
        row = await job(sql, r.lead_id)
        assert row["traceparent"].startswith("00-")
        await drain(env["worker"])
        finished = spans.get_finished_spans()
        reply = next(
            s
            for s in finished
            if s.name == "conversation.reply"
            and (s.attributes or {}).get("vellarys.job_id") == str(row["id"])
        )
        ingest = next(s for s in finished if s.name.endswith("/IngestInbound") and s.kind.name == "SERVER")
        assert reply.context.trace_id == ingest.context.trace_id
        assert reply.parent is not None and reply.parent.span_id == ingest.context.span_id
        assert row["traceparent"].split("-")[1] == f"{ingest.context.trace_id:032x}"
        generate = [s for s in finished if s.name.endswith("/GenerateReply")]
        assert [s.context.trace_id for s in generate] == [reply.context.trace_id] * len(generate) != []


class TestWakeups:
    """IngestInbound's notice wakes the running workers when the job falls due: the poll (an hour
    here, longer than any of these tests) is only the safety net."""

    def sleepy(self, env: dict, name: str, workers: int) -> ReplyWorker:
        worker = make_worker(env["settings"], env["engine"], env["peers"], name)
        worker.config = dataclasses.replace(worker.config, workers=workers, poll=3600, sweep_every=3600)
        return worker

    async def test_a_job_is_claimed_when_its_debounce_ends_not_at_the_next_poll(self, env, sql):
        worker = self.sleepy(env, "wakeful", 2)
        worker.start()
        await asyncio.sleep(0.2)  # its first claim, at start, is behind it: it now waits for an hour
        try:
            lead = (await env["stub"].IngestInbound(inbound(env, phone(), "Oi", debounce=1))).lead_id
            assert (await job(sql, lead))["status"] == "queued"

            async def answered() -> bool:
                return await outbound(sql, lead) == [OK]

            await wait_for(answered, timeout=30)
            row = await job(sql, lead)
            assert row["status"] == "done" and row["attempts"] == 1

            async def marked_handed() -> bool:  # handed to notify, then marked in a batched update
                pending = await sql.fetchval(
                    "SELECT bool_or(notify_pending) FROM conversation.messages WHERE lead_id = $1",
                    uuid.UUID(lead),
                )
                return pending is False and await deliveries(sql, lead) == [OK]

            await wait_for(marked_handed)
        finally:
            await worker.stop()

    async def test_jobs_beyond_the_free_slots_run_as_slots_free_up(self, env, sql):
        worker = self.sleepy(env, "one-slot", 1)
        worker.start()
        await asyncio.sleep(0.2)
        try:
            leads = [
                (await env["stub"].IngestInbound(inbound(env, phone(), "Oi", debounce=1))).lead_id
                for _ in range(3)
            ]

            async def all_answered() -> bool:
                return all([await outbound(sql, lead) == [OK] for lead in leads])

            await wait_for(all_answered, timeout=30)
        finally:
            await worker.stop()

    async def test_a_stopped_worker_is_not_woken(self, env, sql):
        worker = self.sleepy(env, "stopped", 1)
        worker.start()
        await worker.stop()
        lead = (await env["stub"].IngestInbound(inbound(env, phone(), "Oi"))).lead_id
        await asyncio.sleep(0.3)
        assert (await job(sql, lead))["status"] == "queued"
        assert await env["worker"].run_once()
        assert await outbound(sql, lead) == [OK]


class TestWhatAReplyStores:
    async def test_message_count_profile_coverage_and_version_together(self, env, sql, fake):
        told = {"name": "purpose", "value": "buy", "evidence": "quero comprar", "confidence": 0.5}
        fake.queue(tool_calls(("update_lead", {"fields": [told]})), text(OK))
        lead = (
            await env["stub"].IngestInbound(inbound(env, phone(), "quero comprar um apartamento"))
        ).lead_id
        lead_id = uuid.UUID(lead)
        before = await sql.fetchrow(
            "SELECT c.version, l.message_count FROM conversation.conversations c"
            " JOIN conversation.leads l ON l.id = c.lead_id WHERE c.lead_id = $1",
            lead_id,
        )
        assert await env["worker"].run_once()
        after = await sql.fetchrow(
            "SELECT c.version, l.message_count FROM conversation.conversations c"
            " JOIN conversation.leads l ON l.id = c.lead_id WHERE c.lead_id = $1",
            lead_id,
        )
        assert (after["version"], after["message_count"]) == (
            before["version"] + 1,
            before["message_count"] + 1,
        )
        [reply] = await sql.fetch(
            "SELECT text, status, notify_pending, raw FROM conversation.messages"
            " WHERE lead_id = $1 AND direction = 'outbound_ai'",
            lead_id,
        )
        assert (reply["text"], reply["status"], reply["notify_pending"]) == (OK, "queued", False)
        row = await job(sql, lead)
        latest = await sql.fetchval(
            "SELECT max(created_at) FROM conversation.messages WHERE lead_id = $1 AND direction = 'inbound'",
            lead_id,
        )
        assert (row["status"], row["outcome"], row["covered_until"]) == ("done", "ok", latest)
        assert row["locked_by"] is None and row["locked_until"] is None
        profile = await sql.fetchrow(
            "SELECT fields, score FROM conversation.lead_profiles WHERE lead_id = $1", lead_id
        )
        assert profile is not None and json.loads(profile["fields"]) == [told] and profile["score"] > 0
        assert not await env["worker"].run_once()  # nothing new to answer


class TestLiveEvents:
    async def test_a_reply_stored_without_a_transaction_is_announced_after_it(self, env):
        admin = CallContext(tenant_id=env["tenant_id"], actor_id=str(uuid.uuid4()), role="admin").metadata()
        call = env["stub"].WatchEvents(pb.WatchEventsRequest(), metadata=admin)
        await call.wait_for_connection()
        got: list[pb.WatchEventsResponse] = []

        async def collect() -> None:
            async for event in call:
                got.append(event)

        task = asyncio.create_task(collect())
        try:
            lead = (await env["stub"].IngestInbound(inbound(env, phone(), "Oi"))).lead_id
            assert await env["worker"].run_once()

            async def announced() -> bool:
                return ("message.sent", lead) in {(e.type, e.lead_id) for e in got}

            await wait_for(announced)
        finally:
            call.cancel()
            await asyncio.gather(task, return_exceptions=True)
