"""Dead letters, replay and push subscriptions through the gateway, the real tenant and notify servers
and the fake providers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

import notify
import tenant
from gateway.app import create_app
from gateway.clients import Clients
from gateway.config import Settings as GatewaySettings
from gateway.routes import deliveries
from kit import db, rpc
from kit.config import SERVICES
from kit.context import CallContext
from kit.fakes import providers as fp
from kit.testing import settings_for_tests
from notify.config import Settings as NotifySettings
from notify.server import build as build_notify
from notify.server import components
from tenant.config import Settings as TenantSettings
from tenant.seed import bootstrap
from tenant.server import build as build_tenant
from vellarys.notify.v1 import notify_pb2 as npb
from vellarys.tenant.v1 import tenant_pb2 as tpb

PASSWORD = "correct horse battery"


@dataclass
class Stack:
    http: httpx.AsyncClient
    super_email: str
    super_password: str
    fake: fp.FakeProviders
    clients: Clients
    sender: object
    tokens: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
async def stack(migrated, database_url) -> AsyncIterator[Stack]:
    email = f"root-{uuid.uuid4().hex[:6]}@vellarys.local"
    tsettings = settings_for_tests(
        TenantSettings, database_url, tenants_hard_limit=1000, superadmin_email=email,
        superadmin_tenant_slug=f"platform-{uuid.uuid4().hex[:6]}",
    )  # fmt: skip
    tengine = db.create_engine(
        migrated("tenant", tenant.__file__), pool_size=4, max_overflow=4, application_name="t"
    )
    async with db.session_factory(tengine).begin() as session:
        _, password = await bootstrap(session, tsettings)
    tserver = build_tenant(tsettings, tengine, port=0)
    await tserver.start()
    with fp.FakeProviders() as fake:
        nsettings = settings_for_tests(
            NotifySettings, database_url, tenant_addr=f"127.0.0.1:{tserver.port}", conversation_addr="127.0.0.1:1",
            meta_graph_base_url=fake.meta_base_url, max_attempts=2, backoff_base_seconds=0.01,
            backoff_cap_seconds=0.02, vapid_public_key="BPublicKeyForTests",
        )  # fmt: skip
        nengine = db.create_engine(
            migrated("notify", notify.__file__), pool_size=4, max_overflow=4, application_name="n"
        )
        parts = components(nsettings, nengine)
        nserver = build_notify(nsettings, nengine, port=0, sender=parts.sender, pusher=parts.pusher)
        await nserver.start()
        channels = {name: rpc.make_channel("127.0.0.1:1") for name in SERVICES}
        channels["tenant"] = rpc.make_channel(f"127.0.0.1:{tserver.port}", deadline=60)
        channels["notify"] = rpc.make_channel(f"127.0.0.1:{nserver.port}", deadline=60)
        clients = Clients(channels)
        app = create_app(settings_for_tests(GatewaySettings, database_url), clients=clients)
        if not any(getattr(r, "path", "") == "/api/v1/deliveries/dead-letters" for r in app.routes):
            app.include_router(deliveries.router)  # until app.py lists the router
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
                yield Stack(http, email, password, fake, clients, parts.sender)
        for channel in channels.values():
            await channel.close()
        await nserver.stop(0)
        await parts.close()
        await nengine.dispose()
    await tserver.stop(0)
    await tengine.dispose()


async def login(s: Stack, email: str, password: str = PASSWORD) -> dict[str, str]:
    if email not in s.tokens:
        r = await s.http.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        s.tokens[email] = r.json()["access_token"]
    return {"Authorization": f"Bearer {s.tokens[email]}"}


async def new_tenant(s: Stack) -> str:
    body = {"name": "Imob", "slug": f"t-{uuid.uuid4().hex[:10]}", "niche_id": 1}
    r = await s.http.post(
        "/api/v1/admin/tenants", json=body, headers=await login(s, s.super_email, s.super_password)
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def user(s: Stack, tenant_id: str, role: str) -> dict[str, str]:
    email = f"u{uuid.uuid4().hex[:8]}@example.com"
    body = {"email": email, "name": "Ana", "role": role, "password": PASSWORD}
    r = await s.http.post("/api/v1/users", params={"tenant_id": tenant_id}, json=body,
                          headers=await login(s, s.super_email, s.super_password))  # fmt: skip
    assert r.status_code == 201, r.text
    return await login(s, email)


async def dead_letter(s: Stack, tenant_id: str) -> str:
    admin = CallContext(tenant_id=tenant_id, actor_id=str(uuid.uuid4()), role="admin").metadata()
    request = tpb.CreateChannelRequest(provider=tpb.PROVIDER_META, name="m", external_id=f"pn-{uuid.uuid4().hex[:8]}",
                                       secrets={"access_token": "tok", "app_secret": "sec"})  # fmt: skip
    channel = (await s.clients.tenant.CreateChannel(request, metadata=admin)).channel
    s.fake.queue(f"/{fp.META_VERSION}/{channel.external_id}/messages", fp.status(503), fp.status(503))
    reply = await s.clients.notify.SendMessage(npb.SendMessageRequest(
        tenant_id=tenant_id, message_id=str(uuid.uuid4()), channel_id=channel.id, recipient="+5541999990000",
        text="Olá"))  # fmt: skip
    for _ in range(50):
        await s.sender.process_due()  # type: ignore[attr-defined]
        got = await s.clients.notify.GetDelivery(
            npb.GetDeliveryRequest(tenant_id=tenant_id, delivery_id=reply.delivery_id)
        )
        if got.delivery.status == npb.DELIVERY_STATUS_DEAD:
            return reply.delivery_id
        await asyncio.sleep(0.03)
    raise AssertionError("delivery never went dead")


class TestDeadLetters:
    async def test_admin_lists_and_replays(self, stack):
        tenant_id = await new_tenant(stack)
        delivery_id = await dead_letter(stack, tenant_id)
        admin = await user(stack, tenant_id, "admin")
        r = await stack.http.get("/api/v1/deliveries/dead-letters", headers=admin)
        assert r.status_code == 200, r.text
        [item] = r.json()["items"]
        assert (item["id"], item["status"], item["attempts"]) == (delivery_id, "dead", 2)
        assert "http 503" in item["last_error"]
        r = await stack.http.post(f"/api/v1/deliveries/{delivery_id}/replay", headers=admin)
        assert r.status_code == 200 and r.json()["status"] == "queued" and r.json()["attempts"] == 0
        await stack.sender.process_due()
        r = await stack.http.get("/api/v1/deliveries/dead-letters", headers=admin)
        assert r.json()["items"] == []
        again = await stack.http.post(f"/api/v1/deliveries/{delivery_id}/replay", headers=admin)
        assert again.status_code == 400 and "only dead or failed" in again.text

    async def test_roles_and_tenant_isolation(self, stack):
        tenant_id, other = await new_tenant(stack), await new_tenant(stack)
        delivery_id = await dead_letter(stack, tenant_id)
        seller = await user(stack, tenant_id, "seller")
        assert (await stack.http.get("/api/v1/deliveries/dead-letters", headers=seller)).status_code == 403
        assert (await stack.http.get("/api/v1/deliveries/dead-letters")).status_code == 401
        outsider = await user(stack, other, "admin")
        r = await stack.http.get("/api/v1/deliveries/dead-letters", headers=outsider)
        assert r.status_code == 200 and r.json()["items"] == []
        r = await stack.http.post(f"/api/v1/deliveries/{delivery_id}/replay", headers=outsider)
        assert r.status_code == 404
        r = await stack.http.get(
            "/api/v1/deliveries/dead-letters", params={"tenant_id": tenant_id}, headers=outsider
        )
        assert r.status_code == 404


class TestPushSubscriptions:
    async def test_subscribe_unsubscribe_and_vapid_key(self, stack):
        tenant_id = await new_tenant(stack)
        seller = await user(stack, tenant_id, "seller")
        body = {"endpoint": stack.fake.push_endpoint(), "keys": {"p256dh": "BKey", "auth": "AuthSecret"}}
        r = await stack.http.post("/api/v1/push/subscriptions", json=body, headers=seller)
        assert r.status_code == 201, r.text
        assert r.json()["endpoint"] == body["endpoint"]
        r = await stack.http.request("DELETE", "/api/v1/push/subscriptions", json={"endpoint": body["endpoint"]},
                                     headers=seller)  # fmt: skip
        assert r.status_code == 204
        r = await stack.http.get("/api/v1/push/vapid-public-key", headers=seller)
        assert r.status_code == 200 and r.json() == {"public_key": "BPublicKeyForTests"}

    async def test_validation_and_auth(self, stack):
        tenant_id = await new_tenant(stack)
        seller = await user(stack, tenant_id, "seller")
        bad = {"endpoint": "ftp://x.example/push", "keys": {"p256dh": "k", "auth": "a"}}
        assert (
            await stack.http.post("/api/v1/push/subscriptions", json=bad, headers=seller)
        ).status_code == 422
        good = {"endpoint": "https://push.example/abc", "keys": {"p256dh": "k", "auth": "a"}}
        assert (await stack.http.post("/api/v1/push/subscriptions", json=good)).status_code == 401
