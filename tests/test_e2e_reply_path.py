"""Issue 6.6, end to end in one test: a lead writes through a real Z-API webhook to the real gateway,
the AI (the offline responder) answers through notify to a fake provider on 127.0.0.1, the lead asks
for a person, the one active seller is assigned and gets a web push at a fake push endpoint, answers
from the dashboard, the lead receives it, writes again, and the AI stays silent. The first message's
path is one trace across gateway, conversation, ai and notify.

Every service runs in-process with its real server, workers included (the reply worker with its
assigner, notify's sender); only the WhatsApp provider and the browser push service are fakes.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from opentelemetry.trace import SpanKind
from py_vapid import Vapid

import ai
import conversation
import notify
import tenant
from ai.config import Settings as AiSettings
from ai.server import build as build_ai
from conversation.config import Settings as ConversationSettings
from conversation.ports import AiPort, NotifyPort
from conversation.server import Peers, make_worker
from conversation.server import build as build_conversation
from gateway.app import create_app
from gateway.clients import Clients
from gateway.config import Settings as GatewaySettings
from kit import db, rpc
from kit.context import CallContext
from kit.fakes.providers import FakeProviders
from kit.ports import free_port
from kit.testing import settings_for_tests
from notify.config import Settings as NotifySettings
from notify.server import build as build_notify
from notify.server import components
from tenant.config import Settings as TenantSettings
from tenant.server import build as build_tenant
from vellarys.ai.v1 import ai_pb2_grpc as apb_grpc
from vellarys.notify.v1 import notify_pb2_grpc as npb_grpc
from vellarys.tenant.v1 import tenant_pb2 as tpb
from vellarys.tenant.v1 import tenant_pb2_grpc as tpb_grpc

PAYLOAD = (
    Path(__file__).resolve().parent.parent / "services/gateway/tests/unit/providers/payloads/zapi_text.json"
)
ROOT = CallContext(actor_id=str(uuid.uuid4()), role="superadmin").metadata()
DEBOUNCE = 1  # seconds, the tenant's AI setting
PASSWORD = "Senha-Forte-123!"
SELLER_TEXT = "Olá! Aqui é o Carlos, corretor. Posso te ligar agora?"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def vapid_keys() -> dict[str, str]:
    key = Vapid()
    key.generate_keys()
    private = key.private_key.private_numbers().private_value.to_bytes(32, "big")
    public = key.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return {"vapid_private_key": b64(private), "vapid_public_key": b64(public)}


def browser_keys() -> dict[str, str]:
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return {"p256dh": b64(point), "auth": b64(os.urandom(16))}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviders]:
    with FakeProviders() as server:
        yield server


@pytest.fixture(scope="module")
async def stack(migrated, database_url, fake) -> AsyncIterator[dict[str, Any]]:
    engines = {
        name: db.create_engine(
            migrated(name, pkg.__file__), pool_size=6, max_overflow=6, application_name=f"e2e-{name}"
        )
        for name, pkg in (("tenant", tenant), ("ai", ai), ("notify", notify), ("conversation", conversation))
    }
    started: list[Any] = []

    async def start(server: rpc.Server) -> str:
        await server.start()
        started.append(server)
        return f"127.0.0.1:{server.port}"

    addr = {"tenant": await start(build_tenant(
        settings_for_tests(TenantSettings, database_url, tenants_hard_limit=100_000), engines["tenant"], port=0
    ))}  # fmt: skip
    addr["ai"] = await start(build_ai(
        settings_for_tests(AiSettings, database_url, openai_api_key="", tenant_addr=addr["tenant"]), engines["ai"], port=0
    ))  # fmt: skip
    addr["conversation"] = f"127.0.0.1:{free_port()}"
    notify_settings = settings_for_tests(
        NotifySettings, database_url, zapi_base_url=fake.zapi_base_url, tenant_addr=addr["tenant"],
        conversation_addr=addr["conversation"], sender_poll_seconds=0.1, pace_recipient_interval_seconds=0,
        **vapid_keys(),
    )  # fmt: skip
    parts = components(notify_settings, engines["notify"])
    addr["notify"] = await start(
        build_notify(notify_settings, engines["notify"], port=0, sender=parts.sender, pusher=parts.pusher)
    )
    parts.sender.start()
    channels = {name: rpc.make_channel(a, deadline=30) for name, a in addr.items()}
    peers = Peers(
        AiPort(apb_grpc.AiServiceStub(channels["ai"]), 20),
        NotifyPort(npb_grpc.NotifyServiceStub(channels["notify"]), 5),
        tpb_grpc.TenantServiceStub(channels["tenant"]),
    )
    conv_settings = settings_for_tests(
        ConversationSettings,
        database_url,
        reply_poll_seconds=0.1,
        reply_workers=2,
        **{"conversation_port": 0},
    )
    port = int(addr["conversation"].rsplit(":", 1)[1])
    await start(build_conversation(conv_settings, engines["conversation"], port=port, peers=peers))
    worker = make_worker(conv_settings, engines["conversation"], peers, "e2e")
    worker.start()
    gateway_settings = settings_for_tests(
        GatewaySettings, database_url, **{f"{n}_addr": a for n, a in addr.items()}
    )
    app = create_app(gateway_settings, clients=Clients.connect(gateway_settings))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            yield {"http": http, "tenants": peers.tenant, "fake": fake}
    await worker.stop()
    await parts.close()
    for channel in channels.values():
        await channel.close()
    for server in reversed(started):
        await server.stop(0)
    for engine in engines.values():
        await engine.dispose()


async def agency(stack: dict[str, Any]) -> dict[str, str]:
    """A tenant with a Z-API channel, a short debounce and one active seller (with a phone)."""
    tenants = stack["tenants"]
    tid = (await tenants.CreateTenant(
        tpb.CreateTenantRequest(name="Imobiliária E2E", slug=f"e2e-{uuid.uuid4().hex[:8]}", niche_id=1), metadata=ROOT
    )).tenant.id  # fmt: skip
    admin = CallContext(tenant_id=tid, actor_id=str(uuid.uuid4()), role="admin").metadata()
    channel = (await tenants.CreateChannel(
        tpb.CreateChannelRequest(
            tenant_id=tid, provider=tpb.PROVIDER_ZAPI, name="zapi", external_id=f"inst-{uuid.uuid4().hex[:10]}",
            secrets={"token": "zapi-token", "client_token": "zapi-client"},
        ),
        metadata=admin,
    )).channel  # fmt: skip
    await tenants.UpdateAiSettings(
        tpb.UpdateAiSettingsRequest(
            tenant_id=tid, settings=tpb.AiSettings(debounce_seconds=DEBOUNCE), fields=["debounce_seconds"]
        ),
        metadata=admin,
    )
    email = f"carlos-{uuid.uuid4().hex[:6]}@e2e.test"
    seller = (await tenants.CreateUser(
        tpb.CreateUserRequest(
            email=email, name="Carlos", role=tpb.ROLE_SELLER, password=PASSWORD, phone="+5541988776655"
        ),
        metadata=admin,
    )).user  # fmt: skip
    return {"tenant_id": tid, "path": channel.webhook_path, "seller_id": seller.id, "email": email}


def webhook(lead: str, text: str) -> str:
    payload = json.loads(PAYLOAD.read_text())
    payload.update(messageId=uuid.uuid4().hex.upper(), phone=lead.lstrip("+"), senderName="Mariana Souza")
    payload["text"] = {"message": text}
    return json.dumps(payload)


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 20.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, "not reached in time"
        await asyncio.sleep(0.05)


def sent_to(fake: FakeProviders, digits: str) -> list[str]:
    """Texts the fake Z-API was asked to send to this number."""
    return [
        r.json()["message"]
        for r in list(fake.requests)
        if r.kind == "zapi" and r.json().get("phone") == digits
    ]


def service_of(span: Any) -> str:
    attributes = span.attributes or {}
    return (
        str(attributes.get("rpc.service", "gateway")).split(".")[1]
        if "rpc.service" in attributes
        else "gateway"
    )


async def test_lead_ai_handoff_seller_and_silence_in_one_path(stack, spans):
    http, fake = stack["http"], stack["fake"]
    a = await agency(stack)
    login = await http.post("/api/v1/auth/login", json={"email": a["email"], "password": PASSWORD})
    assert login.status_code == 200, login.text
    seller = {"Authorization": f"Bearer {login.json()['access_token']}"}
    endpoint = fake.push_endpoint(f"seller-{uuid.uuid4().hex[:6]}")
    subscribed = await http.post(
        "/api/v1/push/subscriptions", json={"endpoint": endpoint, "keys": browser_keys()}, headers=seller
    )
    assert subscribed.status_code == 201, subscribed.text
    lead = "+5541" + str(uuid.uuid4().int)[:9]
    digits = lead.lstrip("+")
    headers = {"content-type": "application/json"}

    # 1. The lead writes; the AI answers through notify and the provider.
    spans.clear()
    first = await http.post(
        a["path"], content=webhook(lead, "Oi! Vi o anúncio do apartamento, está disponível?"), headers=headers
    )
    assert first.status_code == 200 and first.json()["stored"] == 1, first.text
    ai_texts = await eventually(lambda: _async(sent_to(fake, digits)))
    assert len(ai_texts) == 1

    finished = spans.get_finished_spans()
    roots = [s for s in finished if s.kind is SpanKind.SERVER and s.parent is None and "webhook" in s.name]
    assert len(roots) == 1, [(s.name, s.kind, s.parent) for s in finished if s.parent is None]
    root = roots[0]
    trace = [s for s in finished if s.context.trace_id == root.context.trace_id]
    services = {service_of(s) for s in trace if s.kind is SpanKind.SERVER}
    assert {"gateway", "conversation", "ai", "notify"} <= services, services
    assert any(s.name == "conversation.reply" for s in trace)

    # 2. The lead asks for a person: the seller is assigned and pushed.
    listed = await http.get("/api/v1/leads", params={"q": digits[-8:]}, headers=seller)
    lead_id = listed.json()["items"][0]["id"]
    await http.post(a["path"], content=webhook(lead, "quero falar com um corretor"), headers=headers)

    async def assigned() -> bool:
        got = await http.get(f"/api/v1/leads/{lead_id}", headers=seller)
        return got.json()["assigned_user_id"] == a["seller_id"] and got.json()["owner"] == "nobody"

    await eventually(assigned)
    pushes = await eventually(lambda: _async([r for r in list(fake.requests) if endpoint.endswith(r.path)]))
    assert pushes[0].headers.get("Content-Encoding", pushes[0].headers.get("content-encoding")) == "aes128gcm"
    timeline = (await http.get(f"/api/v1/leads/{lead_id}/timeline", headers=seller)).json()["items"]
    assert ("assigned", "handoff") in {(e["kind"], e["reason"]) for e in timeline}
    before = len(sent_to(fake, digits))

    # 3. The seller answers from the dashboard; the lead receives it.
    answered = await http.post(
        f"/api/v1/leads/{lead_id}/messages", json={"text": SELLER_TEXT}, headers=seller
    )
    assert answered.status_code == 201, answered.text
    await eventually(lambda: _async(SELLER_TEXT in sent_to(fake, digits)))

    # 4. The lead writes again: the AI stays silent (a person owns the conversation now).
    ai_before = await _ai_messages(http, lead_id, seller)
    again = await http.post(a["path"], content=webhook(lead, "Pode sim, me liga à tarde"), headers=headers)
    assert again.status_code == 200
    await asyncio.sleep(DEBOUNCE + 1.5)
    assert await _ai_messages(http, lead_id, seller) == ai_before
    assert sent_to(fake, digits)[before:] == [SELLER_TEXT]
    owner = (await http.get(f"/api/v1/leads/{lead_id}", headers=seller)).json()
    assert owner["owner"] == "human" and owner["owner_user_id"] == a["seller_id"]


async def _async(value: Any) -> Any:
    return value


async def _ai_messages(http: httpx.AsyncClient, lead_id: str, headers: dict[str, str]) -> int:
    page = (
        await http.get(f"/api/v1/leads/{lead_id}/messages", params={"limit": 100}, headers=headers)
    ).json()
    return sum(1 for m in page["items"] if m["direction"] == "outbound_ai")
