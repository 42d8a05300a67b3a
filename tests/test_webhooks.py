"""Webhooks through the real gateway into the real tenant and conversation services."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from pathlib import Path

import asyncpg
import pytest

from gateway.providers.signatures import meta_signature
from kit import rpc
from kit.context import CallContext
from kit.dbadmin import asyncpg_dsn
from vellarys.tenant.v1 import tenant_pb2 as pb
from vellarys.tenant.v1 import tenant_pb2_grpc

PAYLOADS = Path(__file__).resolve().parent.parent / "services/gateway/tests/unit/providers/payloads"
PROVIDERS = {
    "zapi": pb.PROVIDER_ZAPI,
    "dialog360": pb.PROVIDER_DIALOG360,
    "gupshup": pb.PROVIDER_GUPSHUP,
    "meta": pb.PROVIDER_META,
}
SECRETS = {
    "zapi": {"token": "zapi-token", "client_token": "zapi-client"},
    "dialog360": {"api_key": "d360-key", "webhook_secret": "d360-webhook-secret"},
    "gupshup": {"api_key": "gs-key"},
    "meta": {"access_token": "meta-access", "app_secret": "meta-app-secret", "verify_token": "meta-verify"},
}


def load(name: str, **replace: str) -> str:
    text = (PAYLOADS / f"{name}.json").read_text()
    for old, new in replace.items():
        text = text.replace(old, new)
    return text


class Tenant:
    def __init__(self, tenant_id: str, channels: dict[str, tuple[str, str]]) -> None:
        self.id = tenant_id
        self.channels = channels  # provider → (external id, webhook path)

    def path(self, provider: str) -> str:
        return self.channels[provider][1]


async def make_tenant(tenant_port: int, **limits: int) -> Tenant:
    channel = rpc.make_channel(f"127.0.0.1:{tenant_port}")
    stub = tenant_pb2_grpc.TenantServiceStub(channel)
    root = CallContext(actor_id=str(uuid.uuid4()), role="superadmin").metadata()
    created = await stub.CreateTenant(
        pb.CreateTenantRequest(
            name="Imobiliária Web",
            slug=f"web-{uuid.uuid4().hex[:8]}",
            niche_id=1,
            limits=pb.PlanLimits(**limits),
        ),
        metadata=root,
    )
    tid = created.tenant.id
    admin = CallContext(tenant_id=tid, actor_id=str(uuid.uuid4()), role="admin").metadata()
    channels = {}
    for provider, code in PROVIDERS.items():
        external = f"{provider}-{uuid.uuid4().hex[:12]}"
        reply = await stub.CreateChannel(
            pb.CreateChannelRequest(
                tenant_id=tid, provider=code, name=provider, external_id=external, secrets=SECRETS[provider]
            ),
            metadata=admin,
        )
        channels[provider] = (external, reply.channel.webhook_path)
    await channel.close()
    return Tenant(tid, channels)


@pytest.fixture(scope="module")
async def tenant(servers) -> Tenant:
    return await make_tenant(servers["tenant"].port)


async def messages(database_url: str, tenant_id: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        return await conn.fetch(
            "SELECT external_id, kind, direction, text, auto_reply_blocked FROM conversation.messages"
            " WHERE tenant_id = $1 ORDER BY created_at",
            uuid.UUID(tenant_id),
        )
    finally:
        await conn.close()


JSON = {"content-type": "application/json"}


class TestRunbookConnectivityCheck:
    async def test_test_payload_answers_200_and_writes_nothing(self, gateway, tenant, database_url):
        before = await messages(database_url, tenant.id)
        response = await gateway.post("/api/v1/webhook/dialog360", json={"test": True})
        assert response.status_code == 200 and response.json() == {"status": "ok", "test": True}
        assert await messages(database_url, tenant.id) == before


class TestZapi:
    async def test_stored_once_then_duplicate(self, gateway, tenant, database_url):
        mid = uuid.uuid4().hex
        body = load("zapi_text", **{"3EB0C767D71D9A0E3A1F01": mid})
        first = await gateway.post(tenant.path("zapi"), content=body, headers=JSON)
        assert first.status_code == 200, first.text
        assert first.json()["stored"] == 1
        again = await gateway.post(tenant.path("zapi"), content=body, headers=JSON)
        assert again.json()["stored"] == 0 and again.json()["duplicates"] == 1
        rows = [r for r in await messages(database_url, tenant.id) if r["external_id"] == mid]
        assert len(rows) == 1 and rows[0]["kind"] == "text" and "sobrado" in rows[0]["text"]

    async def test_without_or_with_a_wrong_token_is_401_and_writes_nothing(
        self, gateway, tenant, database_url
    ):
        before = await messages(database_url, tenant.id)
        body = load("zapi_text", **{"3EB0C767D71D9A0E3A1F01": uuid.uuid4().hex})
        bare = await gateway.post("/api/v1/webhook/zapi", content=body, headers=JSON)
        assert bare.status_code == 401 and "token" in bare.json()["error"]["message"]
        forged = await gateway.post("/api/v1/webhook/zapi/" + "x" * 43, content=body, headers=JSON)
        assert forged.status_code == 401
        other_provider = await gateway.post(
            tenant.path("gupshup").replace("gupshup", "zapi"), content=body, headers=JSON
        )
        assert other_provider.status_code == 401
        assert await messages(database_url, tenant.id) == before

    async def test_fifty_concurrent_copies_store_one_message(self, gateway, tenant, database_url):
        mid = uuid.uuid4().hex
        body = load("zapi_text", **{"3EB0C767D71D9A0E3A1F01": mid, "5541991234567": "5541988887777"})
        replies = await asyncio.gather(
            *(gateway.post(tenant.path("zapi"), content=body, headers=JSON) for _ in range(50))
        )
        assert {r.status_code for r in replies} == {200}
        assert sum(r.json()["stored"] for r in replies) == 1
        assert len([r for r in await messages(database_url, tenant.id) if r["external_id"] == mid]) == 1

    async def test_every_type_is_kept(self, gateway, tenant, database_url):
        names = [
            "zapi_image",
            "zapi_audio",
            "zapi_video",
            "zapi_document",
            "zapi_sticker",
            "zapi_location",
            "zapi_contact",
            "zapi_buttons_response",
            "zapi_list_response",
            "zapi_reaction",
            "zapi_unknown_type",
        ]
        for name in names:
            response = await gateway.post(tenant.path("zapi"), content=load(name), headers=JSON)
            assert (
                response.status_code == 200 and response.json()["stored"] + response.json()["duplicates"] == 1
            )
        kinds = {r["kind"] for r in await messages(database_url, tenant.id)}
        assert {
            "image",
            "audio",
            "video",
            "document",
            "sticker",
            "location",
            "contacts",
            "interactive",
            "reaction",
            "unsupported",
        } <= kinds


class TestMeta:
    def signed(self, tenant: Tenant, name: str) -> tuple[bytes, dict[str, str]]:
        body = load(name, **{"106540352242922": tenant.channels["meta"][0]}).encode()
        return body, {**JSON, "X-Hub-Signature-256": meta_signature(body, SECRETS["meta"]["app_secret"])}

    async def test_every_entry_change_message_and_status_is_processed(
        self, gateway, tenant, servers, database_url
    ):
        # One POST from one Meta app carries two business numbers, here of two different tenants.
        other = await make_tenant(servers["tenant"].port)
        body = load(
            "meta_multi",
            **{"106540352242922": tenant.channels["meta"][0], "209876543210987": other.channels["meta"][0]},
        ).encode()
        headers = {**JSON, "X-Hub-Signature-256": meta_signature(body, SECRETS["meta"]["app_secret"])}
        response = await gateway.post("/api/v1/webhook/meta", content=body, headers=headers)
        assert response.status_code == 200, response.text
        payload = json.loads(body)
        expected = sum(len(c["value"].get("messages", [])) for e in payload["entry"] for c in e["changes"])
        statuses = sum(len(c["value"].get("statuses", [])) for e in payload["entry"] for c in e["changes"])
        assert response.json()["stored"] == expected >= 2
        assert response.json()["statuses"] == statuses >= 1
        mine, theirs = await messages(database_url, tenant.id), await messages(database_url, other.id)
        assert len(theirs) >= 1 and len(mine) + len(theirs) >= expected

    async def test_forged_or_missing_signature_is_401_and_writes_nothing(self, gateway, tenant, database_url):
        before = await messages(database_url, tenant.id)
        body, headers = self.signed(tenant, "meta_text")
        tampered = body.replace(b"Batel", b"Bigorrilho")
        assert (
            await gateway.post("/api/v1/webhook/meta", content=tampered, headers=headers)
        ).status_code == 401
        assert (await gateway.post("/api/v1/webhook/meta", content=body, headers=JSON)).status_code == 401
        forged = {**JSON, "X-Hub-Signature-256": meta_signature(body, "guessed-secret")}
        assert (await gateway.post("/api/v1/webhook/meta", content=body, headers=forged)).status_code == 401
        assert await messages(database_url, tenant.id) == before

    async def test_unknown_business_number_is_403(self, gateway):
        body = load("meta_text", **{"106540352242922": "999999999"}).encode()
        headers = {**JSON, "X-Hub-Signature-256": meta_signature(body, "whatever")}
        assert (await gateway.post("/api/v1/webhook/meta", content=body, headers=headers)).status_code == 403

    async def test_verification_handshake(self, gateway, tenant):
        path = tenant.path("meta")
        ok = await gateway.get(
            path,
            params={
                "hub.mode": "subscribe",
                "hub.verify_token": "meta-verify",
                "hub.challenge": "1158201444",
            },
        )
        assert ok.status_code == 200 and ok.text == "1158201444"
        wrong = await gateway.get(
            path, params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"}
        )
        assert wrong.status_code == 403
        token = path.rsplit("/", 1)[1]
        bare = await gateway.get(
            "/api/v1/webhook/meta",
            params={"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "42"},
        )
        assert bare.status_code == 200 and bare.text == "42"


class TestDialog360AndGupshup:
    async def test_360dialog_needs_its_secret_header(self, gateway, tenant):
        body = load(
            "d360_cloud_text",
            **{
                "106540352242922": tenant.channels["dialog360"][0],
                "HBgMNTU0MTk5MTIzNDU2NxUCABIYFjNFQjA1": uuid.uuid4().hex,
            },
        )
        missing = await gateway.post("/api/v1/webhook/dialog360", content=body, headers=JSON)
        assert missing.status_code == 401
        ok = await gateway.post(
            "/api/v1/webhook/dialog360",
            content=body,
            headers={**JSON, "X-Webhook-Secret": "d360-webhook-secret"},
        )
        assert ok.status_code == 200 and ok.json()["stored"] == 1
        onprem = await gateway.post(tenant.path("dialog360"), content=load("d360_onprem_text"), headers=JSON)
        assert onprem.status_code == 200 and onprem.json()["stored"] + onprem.json()["duplicates"] == 1

    async def test_gupshup_message_and_event(self, gateway, tenant):
        message = await gateway.post(tenant.path("gupshup"), content=load("gupshup_text"), headers=JSON)
        assert message.status_code == 200 and message.json()["stored"] + message.json()["duplicates"] == 1
        event = await gateway.post(tenant.path("gupshup"), content=load("gupshup_event_read"), headers=JSON)
        assert event.status_code == 200 and event.json()["statuses"] == 1


class TestBadInput:
    @pytest.mark.parametrize(
        ("content", "headers", "status"),
        [
            (b"{not json", JSON, 400),
            (b"[1, 2]", JSON, 400),
            (b'{"a": 1}', {"content-type": "text/plain"}, 415),
            (b"x" * (1024 * 1024 + 1), JSON, 413),
        ],
    )
    async def test_clear_4xx_and_nothing_written(
        self, gateway, tenant, database_url, content, headers, status
    ):
        before = await messages(database_url, tenant.id)
        response = await gateway.post(tenant.path("zapi"), content=content, headers=headers)
        assert response.status_code == status
        assert response.json()["error"]["message"]
        assert await messages(database_url, tenant.id) == before

    async def test_unknown_provider_is_422(self, gateway):
        response = await gateway.post("/api/v1/webhook/telegram", json={"a": 1})
        assert response.status_code == 422 and "provider" in response.json()["error"]["message"]
        response = await gateway.post("/api/v1/webhook/telegram/" + "a" * 32, json={"a": 1})
        assert response.status_code == 422 and "provider" in response.json()["error"]["message"]

    @pytest.mark.parametrize("token", ["short", "x" * 129, "bad.characters-in-the-token"])
    async def test_a_malformed_url_token_is_422(self, gateway, token):
        response = await gateway.post(f"/api/v1/webhook/zapi/{token}", json={"a": 1})
        assert response.status_code == 422, response.text
        assert response.json()["error"]["details"][0]["field"] == "token"

    async def test_the_webhook_routes_are_documented(self, gateway):
        paths = (await gateway.get("/openapi.json")).json()["paths"]
        for path in ("/api/v1/webhook/{provider}", "/api/v1/webhook/{provider}/{token}"):
            assert "post" in paths[path]
            names = {p["name"] for p in paths[path]["post"]["parameters"]}
            assert names == ({"provider", "token"} if "token" in path else {"provider"})


class TestLimits:
    async def test_over_the_hard_limit_messages_are_stored_and_flagged(self, gateway, servers, database_url):
        small = await make_tenant(
            servers["tenant"].port, messages_per_minute_soft=1, messages_per_minute_hard=2
        )
        for n in range(4):
            body = load("zapi_text", **{"3EB0C767D71D9A0E3A1F01": f"limit-{n}-{uuid.uuid4().hex[:6]}"})
            assert (await gateway.post(small.path("zapi"), content=body, headers=JSON)).status_code == 200
        rows = await messages(database_url, small.id)
        assert len(rows) == 4
        assert [r["auto_reply_blocked"] or "" for r in rows] == [
            "",
            "",
            "messages_per_minute_hard",
            "messages_per_minute_hard",
        ]


class TestTraces:
    async def test_the_webhook_token_never_reaches_a_span(self, gateway, tenant, spans):
        token = tenant.path("zapi").rsplit("/", 1)[1]
        body = load("zapi_text", **{"3EB0C767D71D9A0E3A1F01": uuid.uuid4().hex})
        assert (await gateway.post(tenant.path("zapi"), content=body, headers=JSON)).status_code == 200
        finished = spans.get_finished_spans()
        server = [s for s in finished if s.parent is None]
        assert server and any("/api/v1/webhook/zapi/{token}" in str(s.attributes) for s in server)
        for span in finished:
            assert token not in span.name and token not in str(dict(span.attributes or {})), span.name


class TestFastPath:
    """The webhook POSTs are answered in front of FastAPI's stack (gateway/fastpath.py): what that
    stack gave every request must still be there."""

    async def test_the_request_id_is_echoed_or_made(self, gateway, tenant):
        body = load("zapi_text", **{"3EB0C767D71D9A0E3A1F01": uuid.uuid4().hex})
        given = await gateway.post(
            tenant.path("zapi"), content=body, headers={**JSON, "X-Request-ID": "rq-123"}
        )
        assert given.status_code == 200 and given.headers["x-request-id"] == "rq-123"
        made = await gateway.post(tenant.path("zapi"), content=body, headers=JSON)
        assert len(made.headers["x-request-id"]) == 32 and made.headers["x-request-id"] != "rq-123"
        refused = await gateway.post(
            "/api/v1/webhook/zapi", content=body, headers={**JSON, "X-Request-ID": "rq-456"}
        )
        assert refused.status_code == 401
        assert refused.headers["x-request-id"] == "rq-456"
        assert refused.json()["error"] == {
            "code": "unauthenticated",
            "message": refused.json()["error"]["message"],
            "request_id": "rq-456",
        }

    async def test_a_streamed_body_over_the_cap_is_413_without_reading_it_all(
        self, gateway, tenant, database_url
    ):
        chunks_read = 0

        async def chunks():
            nonlocal chunks_read
            for _ in range(64):  # 64 × 64 KiB = 4 MiB offered, without a content-length
                chunks_read += 1
                yield b"x" * 65536

        before = await messages(database_url, tenant.id)
        response = await gateway.post(tenant.path("zapi"), content=chunks(), headers=JSON)
        assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"
        assert chunks_read <= 17  # stopped just past 1 MiB
        assert await messages(database_url, tenant.id) == before

    async def test_an_incoming_trace_is_continued(self, gateway, tenant, spans):
        trace_id = uuid.uuid4().hex
        traceparent = f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"
        body = load("zapi_text", **{"3EB0C767D71D9A0E3A1F01": uuid.uuid4().hex})
        response = await gateway.post(
            tenant.path("zapi"), content=body, headers={**JSON, "traceparent": traceparent}
        )
        assert response.status_code == 200
        mine = [s for s in spans.get_finished_spans() if format(s.context.trace_id, "032x") == trace_id]
        server = [s for s in mine if s.name == "POST /api/v1/webhook/{provider}/{token}"]
        assert len(server) == 1 and server[0].attributes["http.response.status_code"] == 200
        assert server[0].attributes["http.route"] == "/api/v1/webhook/{provider}/{token}"
        assert any(
            s.name == "gateway.ingest_batch" and s.parent.span_id == server[0].context.span_id for s in mine
        )

    async def test_requests_are_counted_by_route_template(self, gateway, tenant):
        body = load("zapi_text", **{"3EB0C767D71D9A0E3A1F01": uuid.uuid4().hex})
        assert (await gateway.post(tenant.path("zapi"), content=body, headers=JSON)).status_code == 200
        assert (await gateway.post("/api/v1/webhook/zapi", content=body, headers=JSON)).status_code == 401
        exposed = (await gateway.get("/metrics")).text
        assert 'route="/api/v1/webhook/{provider}/{token}",status="200"' in exposed
        assert 'route="/api/v1/webhook/{provider}",status="401"' in exposed
        assert tenant.path("zapi").rsplit("/", 1)[1] not in exposed

    @pytest.mark.parametrize("path", ["/api/v1/webhook/zapi/" + "a" * 32 + "/more", "/api/v1/webhook/"])
    async def test_other_paths_under_the_prefix_are_not_webhooks(self, gateway, path):
        response = await gateway.post(path, json={"a": 1})
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


class TestRoutingChanges:
    async def test_a_deactivated_channel_is_refused_within_seconds_whatever_the_cache_ttl(
        self, servers, database_url
    ):
        import httpx

        from gateway.app import create_app
        from gateway.clients import Clients
        from gateway.config import Settings
        from kit.testing import settings_for_tests

        settings = settings_for_tests(
            Settings,
            database_url,
            channel_cache_seconds=300,  # only the routing epoch can explain a change within the test
            channel_epoch_seconds=0.1,
            **{f"{n}_addr": f"127.0.0.1:{s.port}" for n, s in servers.items()},
        )
        mine = await make_tenant(servers["tenant"].port)
        app = create_app(settings, clients=Clients.connect(settings))
        channel = rpc.make_channel(f"127.0.0.1:{servers['tenant'].port}")
        stub = tenant_pb2_grpc.TenantServiceStub(channel)
        admin = CallContext(tenant_id=mine.id, actor_id=str(uuid.uuid4()), role="admin").metadata()
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:

                async def post() -> int:
                    body = load("zapi_text", **{"3EB0C767D71D9A0E3A1F01": uuid.uuid4().hex})
                    return (await client.post(mine.path("zapi"), content=body, headers=JSON)).status_code

                assert await post() == 200  # resolved and cached for 300 s
                listed = await stub.ListChannels(pb.ListChannelsRequest(tenant_id=mine.id), metadata=admin)
                zapi = next(c for c in listed.channels if c.provider == pb.PROVIDER_ZAPI)
                await stub.UpdateChannel(
                    pb.UpdateChannelRequest(tenant_id=mine.id, channel_id=zapi.id, active=False),
                    metadata=admin,
                )
                statuses = []
                for _ in range(50):  # up to 5 s; the epoch is read every 0.1 s
                    statuses.append(await post())
                    if statuses[-1] == 401:
                        break
                    await asyncio.sleep(0.1)
                assert statuses[-1] == 401, statuses
                # At most the requests of one poll interval and one background refresh got through.
                assert len(statuses) <= 10, statuses
        await channel.close()

    async def test_an_unreachable_tenant_service_is_reported_once_and_the_poll_goes_on(
        self, database_url, caplog
    ):
        from gateway.clients import Clients
        from gateway.config import Settings
        from gateway.ingress import Ingress
        from gateway.limits import MemoryCounter
        from kit.ports import free_port
        from kit.testing import settings_for_tests

        dead = free_port()  # a port nothing listens on
        settings = settings_for_tests(Settings, database_url, tenant_addr=f"127.0.0.1:{dead}")
        clients = Clients.connect(settings)
        ingress = Ingress(clients, MemoryCounter(), cache_ttl=settings.channel_cache_seconds)
        caplog.set_level(logging.WARNING, logger="gateway.ingress")
        poll = asyncio.create_task(ingress.follow_routing(0.05))
        try:
            await asyncio.sleep(1.5)  # several polls, each failing
            assert not poll.done()
            unreadable = [r for r in caplog.records if "routing epoch unreadable" in r.getMessage()]
            assert len(unreadable) == 1, [r.getMessage() for r in caplog.records]
            assert "refresh every 30 s" in unreadable[0].getMessage()
        finally:
            poll.cancel()
            await clients.close()
