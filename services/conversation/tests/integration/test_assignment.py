"""Seller assignment and the live event stream, in-process: real tenant (sellers, catalog), ai (the
offline responder: "quero falar com um corretor" hands off), notify and conversation servers over one
real Postgres. Reply workers are driven step by step; time-based reassignment uses a tiny pick-up.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

import ai
import conversation
import notify
import tenant
from ai.config import Settings as AiSettings
from ai.server import build as build_ai
from conversation.assigner import AssignConfig, Assigner, notices
from conversation.assignment import next_in_turn
from conversation.config import Settings
from conversation.ports import AiPort, NotifyPort, TenantPort, UserNotifier
from conversation.server import Peers, build, make_worker
from conversation.worker import ReplyWorker
from kit import db, rpc
from kit.context import CallContext
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

SUPER = CallContext(tenant_id=str(uuid.uuid4()), actor_id=str(uuid.uuid4()), role="superadmin").metadata()
ASK = "quero falar com um corretor"


async def _server(built: rpc.Server, stack: list[Any]) -> grpc.aio.Channel:
    await built.start()
    channel = rpc.make_channel(f"127.0.0.1:{built.port}", deadline=30)
    stack.append((built, channel))
    return channel


@pytest.fixture(scope="module")
async def env(migrated, database_url) -> AsyncIterator[dict[str, Any]]:
    stack: list[Any] = []
    engines = {
        name: db.create_engine(
            migrated(name, pkg.__file__), pool_size=8, max_overflow=8, application_name=name
        )
        for name, pkg in (("tenant", tenant), ("ai", ai), ("notify", notify), ("conversation", conversation))
    }
    tenant_settings = settings_for_tests(TenantSettings, database_url, tenants_hard_limit=1000)
    tenant_channel = await _server(build_tenant(tenant_settings, engines["tenant"], port=0), stack)
    tenant_addr = f"127.0.0.1:{stack[0][0].port}"
    ai_settings = settings_for_tests(AiSettings, database_url, openai_api_key="", tenant_addr=tenant_addr)
    ai_channel = await _server(build_ai(ai_settings, engines["ai"], port=0), stack)
    notify_settings = settings_for_tests(NotifySettings, database_url, sender_enabled=False)
    notify_channel = await _server(build_notify(notify_settings, engines["notify"], port=0), stack)
    tenants = tpb_grpc.TenantServiceStub(tenant_channel)
    peers = Peers(
        AiPort(apb_grpc.AiServiceStub(ai_channel), 20),
        NotifyPort(npb_grpc.NotifyServiceStub(notify_channel), 5),
        tenants,
    )
    settings = settings_for_tests(Settings, database_url, reply_debounce_seconds=0, pickup_minutes=15)
    conv_channel = await _server(build(settings, engines["conversation"], port=0, peers=peers), stack)
    yield {
        "stub": pb_grpc.ConversationServiceStub(conv_channel),
        "tenants": tenants,
        "settings": settings,
        "engine": engines["conversation"],
        "peers": peers,
        "worker": make_worker(settings, engines["conversation"], peers, "w1"),
    }
    for server, channel in reversed(stack):
        await channel.close()
        await server.stop(0)
    for engine in engines.values():
        await engine.dispose()


@dataclasses.dataclass
class Team:
    tenant_id: str
    admin: tuple[tuple[str, str], ...]
    sellers: list[str]  # active, in creation order
    inactive: str


async def team(env: dict, active: int = 3) -> Team:
    tenants = env["tenants"]
    created = await tenants.CreateTenant(
        tpb.CreateTenantRequest(name="Imob", slug=f"a-{uuid.uuid4().hex[:10]}", niche_id=1), metadata=SUPER
    )
    tid = created.tenant.id
    admin = CallContext(tenant_id=tid, actor_id=str(uuid.uuid4()), role="admin").metadata()
    await tenants.UpdateAiSettings(
        tpb.UpdateAiSettingsRequest(
            tenant_id=tid, settings=tpb.AiSettings(debounce_seconds=0), fields=["debounce_seconds"]
        ),
        metadata=admin,
    )
    ids = []
    for i in range(active + 1):
        user = await tenants.CreateUser(
            tpb.CreateUserRequest(
                email=f"s{i}-{uuid.uuid4().hex[:6]}@x.com", name=f"Vendedor {i}", role=tpb.ROLE_SELLER,
                phone=f"+55419990000{i}",
            ),
            metadata=admin,
        )  # fmt: skip
        ids.append(user.user.id)
    off = ids[min(1, active)]  # an inactive seller between active ones
    await tenants.DeactivateUser(tpb.DeactivateUserRequest(user_id=off), metadata=admin)
    return Team(tid, admin, [i for i in ids if i != off], off)


def phone() -> str:
    return "+55419" + str(uuid.uuid4().int)[:8]


async def say(env: dict, tid: str, sender: str, body: str) -> pb.IngestInboundResponse:
    message = pb.InboundMessage(
        provider="zapi", external_id=uuid.uuid4().hex, sender=sender, sender_name="Ana",
        kind=pb.MESSAGE_KIND_TEXT, text=body,
    )  # fmt: skip
    return await env["stub"].IngestInbound(pb.IngestInboundRequest(tenant_id=tid, message=message))


async def drain(worker: ReplyWorker) -> None:
    while await worker.run_once():
        pass


async def handed_off(env: dict, t: Team, worker: ReplyWorker | None = None, first: str = "") -> str:
    """A new lead that asked for a person; the worker ran its reply (and, with an assigner, assigned)."""
    lead = phone()
    if first:
        await say(env, t.tenant_id, lead, first)
    reply = await say(env, t.tenant_id, lead, ASK)
    await drain(worker or env["worker"])
    return reply.lead_id


def unassigning(env: dict) -> ReplyWorker:
    """A reply worker without an assigner: handed-off leads stay due for a test to assign."""
    worker = make_worker(env["settings"], env["engine"], env["peers"], "plain")
    worker.assigner = None
    return worker


def assigner(env: dict, pickup: float = 900.0) -> Assigner:
    tenants, notifier = env["tenants"], env["peers"].notify.stub
    return Assigner(
        db.session_factory(env["engine"]), TenantPort(tenants, 5), UserNotifier(notifier, 5),
        AssignConfig(pickup_seconds=pickup),
    )  # fmt: skip


async def assigned(sql, lead_id: str) -> str | None:
    value = await sql.fetchval(
        "SELECT assigned_user_id FROM conversation.leads WHERE id = $1", uuid.UUID(lead_id)
    )
    return str(value) if value else None


async def assignment_events(sql, lead_id: str) -> list[tuple[str, str]]:
    rows = await sql.fetch(
        "SELECT e.reason, e.owner_user_id FROM conversation.conversation_events e"
        " JOIN conversation.conversations c ON c.id = e.conversation_id"
        " WHERE c.lead_id = $1 AND e.kind = 'assigned' ORDER BY e.created_at",
        uuid.UUID(lead_id),
    )
    return [(r["reason"], str(r["owner_user_id"])) for r in rows]


async def notified(sql, user_id: str) -> list[str]:
    rows = await sql.fetch(
        "SELECT notification_id FROM notify.user_notifications WHERE user_id = $1 ORDER BY created_at",
        uuid.UUID(user_id),
    )
    return [r["notification_id"] for r in rows]


class TestRoundRobin:
    def test_turns_wrap_and_skip_the_seller_who_missed(self):
        assert next_in_turn(["b", "a", "c"], None) == "a"
        assert next_in_turn(["a", "b", "c"], "a") == "b"
        assert next_in_turn(["a", "b", "c"], "c") == "a"
        assert next_in_turn(["a", "b", "c"], "a", exclude="b") == "c"
        assert next_in_turn(["a"], "a", exclude="a") == "a"

    async def test_handoffs_go_round_the_active_sellers_only(self, env, sql):
        t = await team(env)
        leads = [await handed_off(env, t) for _ in range(6)]
        owners = [await assigned(sql, lead) for lead in leads]
        assert t.inactive not in owners
        assert Counter(owners) == {s: 2 for s in t.sellers}
        assert owners[:3] == sorted(t.sellers)  # a stable order, one turn each
        for lead, owner in zip(leads, owners, strict=True):
            assert await assignment_events(sql, lead) == [("handoff", owner)]
            assert len(await notified(sql, owner)) == 2  # each seller got their two leads

    async def test_concurrent_assigners_take_turns(self, env, sql):
        t = await team(env)
        plain = unassigning(env)
        leads = [await handed_off(env, t, plain) for _ in range(9)]
        assert {await assigned(sql, lead) for lead in leads} == {None}
        a, b = assigner(env), assigner(env)
        await asyncio.gather(a.sweep(), b.sweep(), a.sweep(), b.sweep())
        owners = [await assigned(sql, lead) for lead in leads]
        assert Counter(owners) == {s: 3 for s in t.sellers}
        for lead in leads:
            assert len(await assignment_events(sql, lead)) == 1  # each assigned exactly once

    async def test_no_active_seller_leaves_the_lead_waiting(self, env, sql):
        t = await team(env, active=0)
        lead = await handed_off(env, t)
        assert await assigned(sql, lead) is None
        due = await sql.fetchval(
            "SELECT assignment_due_at > now() FROM conversation.conversations WHERE lead_id = $1",
            uuid.UUID(lead),
        )
        assert due  # looked at again later, not every sweep


class TestResponsibleSeller:
    async def test_the_product_seller_gets_the_lead(self, env, sql):
        t = await team(env)
        responsible = sorted(t.sellers)[-1]  # round-robin would pick the first one
        product = tpb.ProductInput(
            code="CB-77",
            title="Cobertura Batel",
            trigger_keywords=["cobertura do batel"],
            seller_id=responsible,
        )
        await env["tenants"].CreateProduct(tpb.CreateProductRequest(product=product), metadata=t.admin)
        lead = await handed_off(env, t, first="Oi, vi a cobertura do Batel, ainda tem?")
        assert await assigned(sql, lead) == responsible
        assert await assignment_events(sql, lead) == [("responsible_seller", responsible)]


class TestPickUp:
    async def test_no_pick_up_reassigns_and_tells_both(self, env, sql):
        t = await team(env)
        quick = assigner(env, pickup=0.3)
        lead = await handed_off(env, t, unassigning(env))
        await quick.sweep()
        first = await assigned(sql, lead)
        assert first is not None
        await asyncio.sleep(0.4)
        assert await quick.sweep() >= 1
        second = await assigned(sql, lead)
        assert second not in (None, first) and second != t.inactive
        events = await assignment_events(sql, lead)
        assert events == [("handoff", first), ("pickup_timeout", second)]
        assert any(n.endswith(":previous") for n in await notified(sql, first))
        assert any(n.endswith(":assigned") for n in await notified(sql, second))

    async def test_a_seller_who_answers_keeps_the_lead(self, env, sql):
        t = await team(env)
        quick = assigner(env, pickup=0.3)
        lead = await handed_off(env, t, unassigning(env))
        await quick.sweep()
        owner = await assigned(sql, lead)
        seller = CallContext(tenant_id=t.tenant_id, actor_id=owner, role="seller").metadata()
        await env["stub"].SendHumanMessage(
            pb.SendHumanMessageRequest(lead_id=lead, text="Oi, aqui é o corretor!"), metadata=seller
        )
        await asyncio.sleep(0.4)
        await quick.sweep()
        assert await assigned(sql, lead) == owner
        assert len(await assignment_events(sql, lead)) == 1

    def test_notices_are_portuguese_and_carry_the_qualification(self):
        from conversation.assignment import Assignment
        from conversation.ports import Seller

        done = Assignment(
            uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), "Ana", uuid.uuid4(), Seller("b", "Bia", "+5541999990000"),
            Seller("a", "Alê"), "pickup_timeout", "Qualificação 70/100 · bairro: Batel",
        )  # fmt: skip
        new, old = notices(done, AssignConfig(pickup_seconds=900))
        assert new.title == "Lead repassado para você: Ana" and "70/100" in new.body and "15 min" in new.body
        assert new.whatsapp_phone == "+5541999990000" and new.channel_id
        assert old.user_id == "a" and "Bia" in old.body and old.whatsapp_phone == ""


class TestAdminAssign:
    async def test_admin_reassigns_and_both_are_told(self, env, sql):
        t = await team(env)
        lead = await handed_off(env, t)
        first = await assigned(sql, lead)
        target = next(s for s in t.sellers if s != first)
        reply = await env["stub"].AssignLead(
            pb.AssignLeadRequest(lead_id=lead, user_id=target), metadata=t.admin
        )
        assert reply.lead.assigned_user_id == target
        assert (await assignment_events(sql, lead))[-1] == ("admin", target)
        assert any(n.endswith(":previous") for n in await notified(sql, first))

    async def test_refusals(self, env):
        t, other = await team(env), await team(env)
        lead = await handed_off(env, t)
        seller = CallContext(tenant_id=t.tenant_id, actor_id=t.sellers[0], role="seller").metadata()
        cases = [
            (seller, t.sellers[1], grpc.StatusCode.PERMISSION_DENIED),
            (t.admin, t.inactive, grpc.StatusCode.INVALID_ARGUMENT),
            (t.admin, other.sellers[0], grpc.StatusCode.INVALID_ARGUMENT),
            (other.admin, other.sellers[0], grpc.StatusCode.NOT_FOUND),
        ]
        for metadata, user_id, code in cases:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await env["stub"].AssignLead(
                    pb.AssignLeadRequest(lead_id=lead, user_id=user_id), metadata=metadata
                )
            assert caught.value.code() == code, (user_id, caught.value.details())


class Watch:
    """A WatchEvents stream collecting what it receives."""

    def __init__(self, env: dict, metadata: Any, tenant_id: str = "") -> None:
        self.call = env["stub"].WatchEvents(pb.WatchEventsRequest(tenant_id=tenant_id), metadata=metadata)
        self.got: list[pb.WatchEventsResponse] = []
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Watch:
        await self.call.wait_for_connection()
        self.task = asyncio.create_task(self._collect())
        return self

    async def _collect(self) -> None:
        async for event in self.call:
            self.got.append(event)

    async def __aexit__(self, *exc: object) -> None:
        self.call.cancel()
        assert self.task is not None
        await asyncio.gather(self.task, return_exceptions=True)

    def seen(self) -> set[tuple[str, str]]:
        return {(e.type, e.lead_id) for e in self.got}


class TestWatchEvents:
    async def test_tenant_and_role_filtering(self, env, sql):
        t, other = await team(env), await team(env)
        me, someone = sorted(t.sellers)[:2]
        seller = CallContext(tenant_id=t.tenant_id, actor_id=me, role="seller").metadata()
        async with (
            Watch(env, t.admin) as admin,
            Watch(env, seller) as mine,
            Watch(env, other.admin) as outsider,
        ):
            fresh = await say(env, t.tenant_id, phone(), "Oi")
            lead = await handed_off(env, t)  # round-robin: the first seller is `me`
            theirs = await handed_off(env, t)  # and the second one `someone`
            await asyncio.sleep(0.5)
        assert await assigned(sql, lead) == me and await assigned(sql, theirs) == someone
        assert {
            ("lead.created", fresh.lead_id), ("message.received", fresh.lead_id),
            ("message.sent", lead), ("conversation.handoff", lead),
            ("conversation.owner_changed", lead), ("lead.assigned", lead), ("lead.assigned", theirs),
        } <= admin.seen()  # fmt: skip
        assert ("lead.assigned", lead) in mine.seen() and ("message.received", fresh.lead_id) in mine.seen()
        assert not {e for e in mine.seen() if e[1] == theirs and e[0] == "lead.assigned"}
        assert all(e.tenant_id == t.tenant_id for e in admin.got + mine.got)
        assert outsider.got == []

    async def test_another_tenant_is_not_found_and_viewers_may_watch(self, env):
        t, other = await team(env), await team(env)
        call = env["stub"].WatchEvents(pb.WatchEventsRequest(tenant_id=other.tenant_id), metadata=t.admin)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call.wait_for_connection()
            await call.read()
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        viewer = CallContext(tenant_id=t.tenant_id, actor_id=str(uuid.uuid4()), role="viewer").metadata()
        async with Watch(env, viewer) as watching:
            created = await say(env, t.tenant_id, phone(), "Oi")
            await asyncio.sleep(0.3)
        assert ("lead.created", created.lead_id) in watching.seen()
