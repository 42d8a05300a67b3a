"""GenerateReply without an API key: the built-in responder with the tenant's catalog and settings.

A real ai server (no OPENAI_API_KEY) talks to a real tenant server over gRPC, with a seeded catalog.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

import ai
import tenant
from ai.config import Settings
from ai.offline import Turn
from ai.offline_path import JITTER, OfflineResponder
from ai.reply import ReplyInput
from ai.server import build, follow_reply_data
from ai.tenant_port import GrpcTenantPort
from kit import db, rpc
from kit.context import CallContext
from kit.testing import settings_for_tests
from tenant.config import Settings as TenantSettings
from tenant.server import build as build_tenant
from vellarys.ai.v1 import ai_pb2 as pb
from vellarys.ai.v1 import ai_pb2_grpc as pb_grpc
from vellarys.tenant.v1 import tenant_pb2 as tpb
from vellarys.tenant.v1 import tenant_pb2_grpc as tpb_grpc

SUPER = CallContext(tenant_id=str(uuid.uuid4()), actor_id=str(uuid.uuid4()), role="superadmin").metadata()
GREETING = "Oi! Aqui é a Bia, da Imobiliária Pinheiro. Em que posso ajudar?"
THRESHOLD = 80
SALE, RENT = tpb.PRODUCT_PURPOSE_SALE, tpb.PRODUCT_PURPOSE_RENT
CODE = re.compile(r"• ([A-Z]{2}-\d{3})")


def admin(tenant_id: str) -> tuple[tuple[str, str], ...]:
    return CallContext(tenant_id=tenant_id, actor_id=str(uuid.uuid4()), role="admin").metadata()


def item(code: str, price: int, neighbourhood: str = "Batel", **extra: Any) -> tpb.ProductInput:
    fields: dict[str, Any] = {
        "title": f"Apartamento {code}",
        "type": "apartamento",
        "purpose": SALE,
        "bedrooms": 3,
        "city": "Curitiba",
        "status": tpb.PRODUCT_STATUS_AVAILABLE,
        **extra,
    }
    return tpb.ProductInput(code=code, price_cents=price * 100, neighbourhood=neighbourhood, **fields)


CATALOG = [
    item(
        "AP-101",
        850_000,
        title="Apartamento 3 quartos no Batel",
        listing_url="https://pinheiro.example/ap-101",
    ),
    item("AP-102", 890_000, bedrooms=4),
    item("AP-103", 880_000),
    item("AP-106", 870_000),  # a fourth match: only three are suggested
    item("AP-104", 1_200_000),  # over budget
    item("AP-105", 500_000, bedrooms=2),  # too few bedrooms
    item("AL-201", 4_000, purpose=RENT),  # for rent
    item("CA-301", 700_000, type="casa"),  # a house
    item("AP-107", 800_000, status=tpb.PRODUCT_STATUS_SOLD),
    item("AP-202", 620_000, "Água Verde"),
]


async def create_tenant(stub: tpb_grpc.TenantServiceStub, name: str, products: list[tpb.ProductInput]) -> str:
    request = tpb.CreateTenantRequest(name=name, slug=f"o-{uuid.uuid4().hex[:10]}", niche_id=1)
    tid = (await stub.CreateTenant(request, metadata=SUPER)).tenant.id
    for product in products:
        await stub.CreateProduct(
            tpb.CreateProductRequest(tenant_id=tid, product=product), metadata=admin(tid)
        )
    return tid


@pytest.fixture(scope="module")
async def tenant_stub(migrated, database_url) -> AsyncIterator[tpb_grpc.TenantServiceStub]:
    engine = db.create_engine(
        migrated("tenant", tenant.__file__), pool_size=2, max_overflow=2, application_name="t"
    )
    server = build_tenant(
        settings_for_tests(TenantSettings, database_url, tenants_hard_limit=1000), engine, port=0
    )
    await server.start()
    channel = rpc.make_channel(f"127.0.0.1:{server.port}")
    yield tpb_grpc.TenantServiceStub(channel)
    await channel.close()
    await server.stop(0)
    await engine.dispose()


@pytest.fixture(scope="module")
async def tenant_id(tenant_stub) -> str:
    tid = await create_tenant(tenant_stub, "Imobiliária Pinheiro", CATALOG)
    settings = tpb.AiSettings(
        greeting=GREETING, handoff=tpb.HandoffRules(score_threshold=THRESHOLD, on_human_request=True)
    )
    await tenant_stub.UpdateAiSettings(
        tpb.UpdateAiSettingsRequest(tenant_id=tid, settings=settings, fields=["greeting", "handoff"]),
        metadata=admin(tid),
    )
    # A competitor: cheaper listings in the same neighbourhood, and a place our tenant does not have.
    await create_tenant(
        tenant_stub, "Concorrente", [item("XX-999", 100_000), item("XX-998", 300_000, "Copacabana")]
    )
    return tid


@pytest.fixture(scope="module")
async def stub(migrated, database_url, tenant_stub) -> AsyncIterator[pb_grpc.AiServiceStub]:
    engine = db.create_engine(migrated("ai", ai.__file__), pool_size=2, max_overflow=2, application_name="t")
    settings = settings_for_tests(Settings, database_url, openai_api_key="")
    server = build(settings, engine, port=0, tenants=GrpcTenantPort(tenant_stub))
    await server.start()
    channel = rpc.make_channel(f"127.0.0.1:{server.port}", deadline=20)
    yield pb_grpc.AiServiceStub(channel)
    await channel.close()
    await server.stop(0)
    await engine.dispose()


async def reply_to(stub, tenant_id: str, *texts: str, lead_name: str = "") -> pb.GenerateReplyResponse:
    history = [pb.HistoryMessage(role=pb.ROLE_LEAD, text=t) for t in texts]
    request = pb.GenerateReplyRequest(
        tenant_id=tenant_id, lead_id=str(uuid.uuid4()), lead_name=lead_name, history=history
    )
    reply = await stub.GenerateReply(request)
    assert (reply.outcome, reply.model) == (pb.OUTCOME_OFFLINE, "offline")
    return reply


def fields(reply: pb.GenerateReplyResponse) -> dict[str, str]:
    return {f.name: f.value for f in reply.profile}


class TestSuggestions:
    async def test_up_to_three_matches_within_budget_from_the_tenants_own_catalog(self, stub, tenant_id):
        reply = await reply_to(
            stub, tenant_id, "quero comprar um apartamento de 3 quartos no Batel até 900 mil"
        )
        assert fields(reply) == {
            "purpose": "buy",
            "property_type": "apartment",
            "bedrooms": "3",
            "region": "Batel",
            "budget": "900000",
        }
        assert CODE.findall(reply.text) == ["AP-101", "AP-102", "AP-103"]
        for unwanted in ("AP-104", "AP-105", "AL-201", "CA-301", "AP-107", "AP-202", "XX-999"):
            assert unwanted not in reply.text
        line = next(x for x in reply.text.splitlines() if "AP-101" in x)
        assert line == (
            "• AP-101 — Apartamento 3 quartos no Batel — R$ 850.000 — Batel — https://pinheiro.example/ap-101"
        )

    async def test_accent_insensitive_place_from_the_catalog_vocabulary(self, stub, tenant_id):
        reply = await reply_to(stub, tenant_id, "procuro apartamento pra comprar na agua verde")
        region = next(f for f in reply.profile if f.name == "region")
        assert (region.value, region.evidence) == ("Água Verde", "agua verde")
        assert CODE.findall(reply.text) == ["AP-202"] and "R$ 620.000" in reply.text

    async def test_a_place_outside_the_catalog_is_not_invented(self, stub, tenant_id):
        reply = await reply_to(stub, tenant_id, "quero um apartamento perto da praia")
        assert "region" not in fields(reply)
        # Copacabana is the competitor's place: a guess from the lead's words, and nothing matches it.
        reply = await reply_to(stub, tenant_id, "quero comprar apartamento em Copacabana")
        assert fields(reply)["region"] == "Copacabana"
        assert CODE.findall(reply.text) == [] and "XX-998" not in reply.text and "R$" not in reply.text

    async def test_no_suggestions_when_nothing_searchable_was_said(self, stub, tenant_id):
        reply = await reply_to(stub, tenant_id, "oi, tudo bem?", lead_name="ana souza")
        assert CODE.findall(reply.text) == []


class TestSettings:
    async def test_the_tenants_greeting_then_one_question(self, stub, tenant_id):
        reply = await reply_to(stub, tenant_id, "oi, tudo bem?", lead_name="ana souza")
        assert reply.text.startswith("Oi, Ana! Aqui é a Bia, da Imobiliária Pinheiro.")
        assert reply.text.count("?") == 1 and "comprar ou para alugar" in reply.text

    async def test_hands_off_at_the_tenants_score_threshold(self, stub, tenant_id):
        below = await reply_to(stub, tenant_id, "quero comprar um apartamento de 3 quartos até 800 mil")
        assert (below.score, below.handoff) == (65, False)
        assert "Em qual região" in below.text  # the first missing field, one question
        at = await reply_to(
            stub, tenant_id, "quero comprar um apartamento de 3 quartos até 800 mil", "no Batel"
        )
        assert (at.score, at.handoff) == (80, True)
        assert at.handoff_reason == f"pontuação 80 atingiu o limite de {THRESHOLD}"
        assert "corretores" in at.text and "?" not in at.text

    async def test_hands_off_when_the_lead_asks_for_a_person(self, stub, tenant_id):
        reply = await reply_to(stub, tenant_id, "quero comprar", "quero falar com um corretor")
        assert reply.handoff and "corretor" in reply.handoff_reason


class Counting:
    """The real gRPC tenant port, counting the lookups that reach the tenant service."""

    def __init__(self, port: GrpcTenantPort) -> None:
        self.port = port
        self.calls: list[str] = []
        self.tenants: list[str] = []  # the tenant of each call

    async def ai_settings(self, tenant_id: str) -> Any:
        self.calls.append("ai_settings")
        self.tenants.append(tenant_id)
        return await self.port.ai_settings(tenant_id)

    async def catalog_places(self, tenant_id: str) -> Any:
        self.calls.append("catalog_places")
        self.tenants.append(tenant_id)
        return await self.port.catalog_places(tenant_id)

    async def search_properties(self, tenant_id: str, filters: Any) -> Any:
        self.calls.append("search_properties")
        self.tenants.append(tenant_id)
        return await self.port.search_properties(tenant_id, filters)

    async def match_triggers(self, tenant_id: str, text: str) -> Any:
        self.calls.append("match_triggers")
        return await self.port.match_triggers(tenant_id, text)


def lead_says(tenant_id: str, text: str) -> ReplyInput:
    return ReplyInput(
        tenant_id=tenant_id, lead_id=str(uuid.uuid4()), lead_name="", history=[Turn("lead", text)]
    )


class TestTenantDataCache:
    async def test_a_busy_tenant_costs_one_lookup_per_refresh_not_per_message(self, tenant_stub):
        tid = await create_tenant(tenant_stub, "Imobiliária Cache", [item("AP-301", 600_000)])
        tenants = Counting(GrpcTenantPort(tenant_stub))
        responder = OfflineResponder(tenants, cache_seconds=60)
        for _ in range(5):
            reply = await responder.respond(lead_says(tid, "quero comprar apartamento no Batel"))
            assert "AP-301" in reply.text
        assert sorted(tenants.calls) == ["ai_settings", "catalog_places", "search_properties"]

    async def test_a_settings_change_applies_within_seconds(self, tenant_stub):
        tid = await create_tenant(tenant_stub, "Imobiliária Muda", [])
        responder = OfflineResponder(Counting(GrpcTenantPort(tenant_stub)), cache_seconds=0.2)
        first = await responder.respond(lead_says(tid, "oi"))
        changed = "Olá! Aqui é o Leo, da Imobiliária Muda."
        await tenant_stub.UpdateAiSettings(
            tpb.UpdateAiSettingsRequest(
                tenant_id=tid, settings=tpb.AiSettings(greeting=changed), fields=["greeting"]
            ),
            metadata=admin(tid),
        )
        assert "Leo" not in first.text
        deadline = asyncio.get_running_loop().time() + 10
        while "Aqui é o Leo" not in (await responder.respond(lead_says(tid, "oi"))).text:
            assert asyncio.get_running_loop().time() < deadline, "the new greeting never applied"
            await asyncio.sleep(0.1)

    async def test_a_change_applies_within_a_second_when_the_epoch_is_followed(self, tenant_stub):
        """Copies kept for five minutes, and still a settings change and a new listing show in the
        replies within about a second: tenant's reply-data epoch moved."""
        tid = await create_tenant(tenant_stub, "Imobiliária Segue", [item("AP-401", 500_000)])
        tenants = GrpcTenantPort(tenant_stub)
        responder = OfflineResponder(Counting(tenants), cache_seconds=300)
        asks = "quero comprar apartamento no Batel"
        first = await responder.respond(lead_says(tid, asks))
        assert "AP-401" in first.text and "AP-402" not in first.text
        follower = asyncio.create_task(follow_reply_data(tenants, responder, 0.05))
        try:
            await asyncio.sleep(0.2)  # the follower has read the epoch as it was
            changed = "Olá! Aqui é a Bia, da Imobiliária Segue."
            await tenant_stub.UpdateAiSettings(
                tpb.UpdateAiSettingsRequest(
                    tenant_id=tid, settings=tpb.AiSettings(greeting=changed), fields=["greeting"]
                ),
                metadata=admin(tid),
            )
            await tenant_stub.CreateProduct(
                tpb.CreateProductRequest(tenant_id=tid, product=item("AP-402", 400_000)), metadata=admin(tid)
            )
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 3
            while True:
                reply = await responder.respond(lead_says(tid, asks))
                if "Aqui é a Bia" in reply.text and "AP-402" in reply.text:
                    break
                assert loop.time() < deadline, f"the changes never applied: {reply.text}"
                await asyncio.sleep(0.05)
        finally:
            follower.cancel()

    async def test_another_tenants_change_leaves_this_tenants_copies_alone(self, tenant_stub):
        quiet = await create_tenant(tenant_stub, "Imobiliária Quieta", [item("AP-501", 500_000)])
        edited = await create_tenant(tenant_stub, "Imobiliária Edita", [item("AP-601", 500_000)])
        tenants = GrpcTenantPort(tenant_stub)
        counting = Counting(tenants)
        responder = OfflineResponder(counting, cache_seconds=300)
        asks = "quero comprar apartamento no Batel"
        for tid in (quiet, edited):
            await responder.respond(lead_says(tid, asks))
        follower = asyncio.create_task(follow_reply_data(tenants, responder, 0.05))
        try:
            await asyncio.sleep(0.2)  # the follower has read the epoch as it was
            await tenant_stub.CreateProduct(
                tpb.CreateProductRequest(tenant_id=edited, product=item("AP-602", 400_000)),
                metadata=admin(edited),
            )
            deadline = asyncio.get_running_loop().time() + 3
            while "AP-602" not in (await responder.respond(lead_says(edited, asks))).text:
                assert asyncio.get_running_loop().time() < deadline, "the new listing never showed"
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)
            assert "AP-501" in (await responder.respond(lead_says(quiet, asks))).text
        finally:
            follower.cancel()
        # The quiet tenant's settings, places and search: each read once, before the change.
        assert counting.tenants.count(quiet) == 3

    async def test_copies_filled_together_go_stale_apart_within_the_cache_time(self, tenant_stub):
        """A restart or a burst over many tenants must not make every refresh fall due at once."""
        tids = [await create_tenant(tenant_stub, f"Imobiliária Lote {i}", []) for i in range(12)]
        loop = asyncio.get_running_loop()
        asked: dict[str, list[float]] = {t: [] for t in tids}

        class Timing(Counting):
            async def ai_settings(self, tenant_id: str) -> Any:
                asked[tenant_id].append(loop.time())
                return await super().ai_settings(tenant_id)

        cache_seconds = 1.0
        responder = OfflineResponder(Timing(GrpcTenantPort(tenant_stub)), cache_seconds=cache_seconds)
        # Each copy is stored somewhere between these two times (a loaded host can take a while).
        started = loop.time()
        await asyncio.gather(*(responder.tenant_data(t) for t in tids))
        filled = loop.time()
        while any(len(times) < 2 for times in asked.values()):
            assert loop.time() - filled < cache_seconds + 1, "a copy outlived its cache time"
            for t in tids:
                await responder.tenant_data(t)
            await asyncio.sleep(0.02)
        refreshed = sorted(times[1] for times in asked.values())
        assert refreshed[0] - started >= cache_seconds * (1 - JITTER), "a copy went stale too soon"
        assert refreshed[-1] - filled <= cache_seconds + 0.1, "a copy outlived its cache time"
        spread = refreshed[-1] - refreshed[0]
        assert spread >= 0.1 * cache_seconds, f"refreshes were not spread: {spread:.3f} s"
