"""The sender against the fake providers on 127.0.0.1: wire formats, idempotency, retries, dead letters,
bad providers (hang, redirect, garbage), concurrent workers, pacing and the 24-hour window."""

from __future__ import annotations

import asyncio
import random
import time
import uuid

import grpc
import pytest

from kit.fakes import providers as fp
from vellarys.notify.v1 import notify_pb2 as pb

from .conftest import eventually


def phone() -> str:
    return f"+55419{random.randint(10_000_000, 99_999_999)}"


def send(tenant_id: str, channel_id: str, recipient: str, **fields) -> pb.SendMessageRequest:
    values = {"tenant_id": tenant_id, "message_id": str(uuid.uuid4()), "channel_id": channel_id,
              "recipient": recipient, "text": "Olá! O apartamento ainda está disponível."}  # fmt: skip
    return pb.SendMessageRequest(**(values | fields))


async def setup(tenancy, provider: str):
    tenant_id = await tenancy.new_tenant()
    return tenant_id, await tenancy.channel(tenant_id, provider)


def meta_path(channel) -> str:
    return f"/{fp.META_VERSION}/{channel.external_id}/messages"


class TestWireFormats:
    async def test_zapi_send_text(self, tenancy, fake, notify_stack):
        tenant_id, channel = await setup(tenancy, "zapi")
        to = phone()
        async with notify_stack() as s:
            reply = await s.stub.SendMessage(send(tenant_id, channel.id, to, wait=True))
        path = f"/instances/{channel.external_id}/token/zapi-instance-token-123/send-text"
        [request] = fake.received(path=path)
        assert request.headers["client-token"] == "zapi-client-token-456"
        assert request.json() == {
            "phone": to.lstrip("+"),
            "message": "Olá! O apartamento ainda está disponível.",
        }
        assert reply.status == pb.DELIVERY_STATUS_SENT and reply.delivery.provider == "zapi"
        assert reply.delivery.provider_message_id and reply.delivery.attempts == 1

    async def test_dialog360_messages(self, tenancy, fake, notify_stack):
        tenant_id, channel = await setup(tenancy, "dialog360")
        to = phone()
        async with notify_stack() as s:
            reply = await s.stub.SendMessage(send(tenant_id, channel.id, to, wait=True))
        [request] = [r for r in fake.received("dialog360") if r.json()["to"] == to.lstrip("+")]
        assert request.path == "/messages" and request.headers["d360-api-key"] == "d360-key-abc"
        assert request.json()["messaging_product"] == "whatsapp" and request.json()["type"] == "text"
        assert request.json()["text"]["body"].startswith("Olá!")
        assert reply.delivery.provider_message_id.startswith("wamid.")

    async def test_gupshup_form_encoded_msg(self, tenancy, fake, notify_stack):
        tenant_id, channel = await setup(tenancy, "gupshup")
        to = phone()
        async with notify_stack() as s:
            reply = await s.stub.SendMessage(send(tenant_id, channel.id, to, wait=True))
        [request] = [r for r in fake.received("gupshup") if r.form()["destination"] == to.lstrip("+")]
        assert request.path == "/wa/api/v1/msg" and request.headers["apikey"] == "gupshup-key-xyz"
        assert request.headers["content-type"].startswith("application/x-www-form-urlencoded")
        form = request.form()
        assert (form["channel"], form["source"], form["src.name"]) == (
            "whatsapp",
            "5541987001200",
            channel.external_id,
        )
        assert fp.json.loads(form["message"]) == {
            "type": "text",
            "text": "Olá! O apartamento ainda está disponível.",
            "previewUrl": False,
        }
        assert reply.status == pb.DELIVERY_STATUS_SENT

    async def test_meta_graph_messages(self, tenancy, fake, notify_stack):
        tenant_id, channel = await setup(tenancy, "meta")
        to = phone()
        async with notify_stack() as s:
            reply = await s.stub.SendMessage(send(tenant_id, channel.id, to, wait=True))
        [request] = fake.received(path=meta_path(channel))
        assert request.headers["authorization"] == "Bearer meta-access-token-999"
        body = request.json()
        assert (body["to"], body["type"], body["recipient_type"]) == (to, "text", "individual")
        assert reply.delivery.provider_message_id.startswith("wamid.")


class TestIdempotencyAndRetries:
    async def test_two_sends_one_request(self, tenancy, fake, notify_stack):
        tenant_id, channel = await setup(tenancy, "meta")
        request = send(tenant_id, channel.id, phone(), wait=True)
        async with notify_stack() as s:
            first = await s.stub.SendMessage(request)
            again = await s.stub.SendMessage(request)
            await s.sender.process_due()
        assert first.created and not again.created and first.delivery_id == again.delivery_id
        assert len(fake.received(path=meta_path(channel))) == 1

    async def test_retry_on_500_then_sent(self, tenancy, fake, notify_stack):
        tenant_id, channel = await setup(tenancy, "meta")
        fake.queue(meta_path(channel), fp.status(500), fp.status(503))
        async with notify_stack() as s:
            reply = await s.stub.SendMessage(send(tenant_id, channel.id, phone(), wait=True))
            assert reply.status == pb.DELIVERY_STATUS_QUEUED and "http 500" in reply.delivery.last_error
            # The worker starts after the first attempt: its poll could otherwise claim the new
            # delivery before SendMessage's own attempt, and the reply would carry no attempt yet.
            s.sender.start()
            done = await eventually(lambda: _sent(s, tenant_id, reply.delivery_id))
        assert done.attempts == 3 and len(fake.received(path=meta_path(channel))) == 3

    async def test_429_retry_after_is_honoured(self, tenancy, fake, notify_stack):
        tenant_id, channel = await setup(tenancy, "meta")
        fake.queue(meta_path(channel), fp.meta_error(130429, "Rate limit hit", http=429) | _retry_after("1"))
        async with notify_stack(run_worker=True) as s:
            reply = await s.stub.SendMessage(send(tenant_id, channel.id, phone()))
            await eventually(lambda: _sent(s, tenant_id, reply.delivery_id))
        first, second = fake.received(path=meta_path(channel))
        assert second.at - first.at >= 0.95

    async def test_no_retry_on_401(self, tenancy, fake, notify_stack):
        tenant_id, channel = await setup(tenancy, "meta")
        fake.queue(meta_path(channel), fp.meta_error(190, "Invalid OAuth access token.", http=401))
        async with notify_stack(run_worker=True) as s:
            reply = await s.stub.SendMessage(send(tenant_id, channel.id, phone(), wait=True))
            await asyncio.sleep(0.3)
            got = await _get(s, tenant_id, reply.delivery_id)
        assert got.status == pb.DELIVERY_STATUS_FAILED and got.attempts == 1
        assert "Invalid OAuth access token." in got.last_error and got.error_code == "190"
        assert len(fake.received(path=meta_path(channel))) == 1

    async def test_dead_letter_after_last_attempt_then_replay(self, tenancy, fake, notify_stack):
        tenant_id, channel = await setup(tenancy, "meta")
        fake.queue(meta_path(channel), *[fp.status(503)] * 3)
        async with notify_stack(run_worker=True, max_attempts=3) as s:
            reply = await s.stub.SendMessage(send(tenant_id, channel.id, phone()))
            dead = await eventually(lambda: _status(s, tenant_id, reply.delivery_id, pb.DELIVERY_STATUS_DEAD))
            assert dead.attempts == 3 and "http 503" in dead.last_error
            letters = await s.stub.ListDeadLetters(pb.ListDeadLettersRequest(tenant_id=tenant_id))
            assert [d.id for d in letters.deliveries] == [reply.delivery_id]
            replayed = await s.stub.ReplayDelivery(
                pb.ReplayDeliveryRequest(tenant_id=tenant_id, delivery_id=reply.delivery_id)
            )
            assert replayed.delivery.status == pb.DELIVERY_STATUS_QUEUED and replayed.delivery.attempts == 0
            done = await eventually(lambda: _sent(s, tenant_id, reply.delivery_id))
        assert done.attempts == 1 and len(fake.received(path=meta_path(channel))) == 4

    async def test_replay_of_a_sent_delivery_is_refused(self, tenancy, notify_stack):
        tenant_id, channel = await setup(tenancy, "meta")
        async with notify_stack() as s:
            reply = await s.stub.SendMessage(send(tenant_id, channel.id, phone(), wait=True))
            with pytest.raises(fp_grpc_error()) as err:
                await s.stub.ReplayDelivery(
                    pb.ReplayDeliveryRequest(tenant_id=tenant_id, delivery_id=reply.delivery_id)
                )
        assert "only dead or failed" in err.value.details()


class TestBadProviders:
    async def test_hang_is_bounded_and_recorded(self, tenancy, fake, notify_stack):
        tenant_id, channel = await setup(tenancy, "meta")
        fake.queue(meta_path(channel), fp.hang())
        async with notify_stack(http_total_timeout=0.5, backoff_base_seconds=60, backoff_cap_seconds=60) as s:
            started = time.monotonic()
            reply = await s.stub.SendMessage(send(tenant_id, channel.id, phone(), wait=True))
        assert time.monotonic() - started < 3
        assert reply.status == pb.DELIVERY_STATUS_QUEUED and reply.delivery.attempts == 1
        assert reply.delivery.last_error.startswith("timeout")

    @pytest.mark.parametrize(("answer", "words"), [(fp.redirect(), "redirect"), (fp.garbage(), "unreadable")])
    async def test_redirect_and_garbage_are_recorded_failures(
        self, tenancy, fake, notify_stack, sql, answer, words
    ):
        tenant_id, channel = await setup(tenancy, "meta")
        fake.queue(meta_path(channel), answer)
        async with notify_stack(backoff_base_seconds=60, backoff_cap_seconds=60) as s:
            reply = await s.stub.SendMessage(send(tenant_id, channel.id, phone(), wait=True))
        assert reply.status == pb.DELIVERY_STATUS_QUEUED and words in reply.delivery.last_error
        rows = await sql.fetch("SELECT outcome, http_status FROM notify.delivery_attempts WHERE delivery_id = $1",
                               uuid.UUID(reply.delivery_id))  # fmt: skip
        assert [tuple(r) for r in rows] == [("retry", answer.status)]
        assert len(fake.received(path=meta_path(channel))) == 1  # the redirect was not followed


class TestWorkers:
    async def test_two_workers_never_send_the_same_delivery_twice(self, tenancy, fake, notify_stack, sql):
        tenant_id, channel = await setup(tenancy, "meta")
        async with notify_stack(pace_recipient_interval_seconds=0) as s:
            requests = [send(tenant_id, channel.id, phone()) for _ in range(40)]
            await asyncio.gather(*(s.stub.SendMessage(r) for r in requests))
            other = s.make_sender()
            await asyncio.gather(s.sender.process_due(), other.process_due())
        # Only this tenant's deliveries count: the workers also claim what other tests left due.
        received = fake.received(path=meta_path(channel))
        assert len(received) == 40 and len({r.json()["to"] for r in received}) == 40
        rows = await sql.fetch(
            "SELECT status, attempts FROM notify.deliveries WHERE tenant_id = $1", uuid.UUID(tenant_id)
        )
        assert [tuple(r) for r in rows] == [("sent", 1)] * 40

    async def test_pacing_reschedules_instead_of_blocking(self, tenancy, fake, notify_stack, sql):
        tenant_id, channel = await setup(tenancy, "meta")
        lead, other = phone(), phone()
        async with notify_stack(pace_recipient_burst=2, pace_recipient_interval_seconds=60) as s:
            burst = [send(tenant_id, channel.id, lead) for _ in range(3)]
            for request in [*burst, send(tenant_id, channel.id, other)]:
                await s.stub.SendMessage(request)
            started = time.monotonic()
            await s.sender.process_due()
            elapsed = time.monotonic() - started
        assert elapsed < 2
        sent_to = [r.json()["to"] for r in fake.received(path=meta_path(channel))]
        assert sorted(sent_to) == sorted([lead, lead, other])
        waiting = await sql.fetchrow(
            "SELECT attempts, next_attempt_at - now() AS wait FROM notify.deliveries"
            " WHERE tenant_id = $1 AND status = 'queued'", uuid.UUID(tenant_id))  # fmt: skip
        assert waiting["attempts"] == 0 and waiting["wait"].total_seconds() > 50


class TestWindow:
    async def test_outside_window_uses_the_template(self, tenancy, fake, notify_stack):
        tenant_id, channel = await setup(tenancy, "meta")
        request = send(tenant_id, channel.id, phone(), wait=True, window_open=False, template_name="retomada",
                       template_language="pt_BR", template_params=["Mariana"])  # fmt: skip
        async with notify_stack() as s:
            reply = await s.stub.SendMessage(request)
        [sent] = fake.received(path=meta_path(channel))
        body = sent.json()
        assert body["type"] == "template" and body["template"]["name"] == "retomada"
        assert body["template"]["language"] == {"code": "pt_BR"}
        assert body["template"]["components"][0]["parameters"] == [{"type": "text", "text": "Mariana"}]
        assert reply.status == pb.DELIVERY_STATUS_SENT and reply.delivery.template_name == "retomada"

    async def test_outside_window_without_template_fails_visibly(self, tenancy, fake, notify_stack):
        tenant_id, channel = await setup(tenancy, "dialog360")
        async with notify_stack() as s:
            reply = await s.stub.SendMessage(
                send(tenant_id, channel.id, phone(), wait=True, window_open=False)
            )
        assert reply.status == pb.DELIVERY_STATUS_FAILED and reply.delivery.error_code == "outside_24h_window"
        assert reply.delivery.last_error.startswith("outside_24h_window")

    async def test_zapi_has_no_window(self, tenancy, notify_stack):
        tenant_id, channel = await setup(tenancy, "zapi")
        async with notify_stack() as s:
            reply = await s.stub.SendMessage(
                send(tenant_id, channel.id, phone(), wait=True, window_open=False)
            )
        assert reply.status == pb.DELIVERY_STATUS_SENT


class TestStatuses:
    async def test_status_never_goes_backwards(self, tenancy, notify_stack):
        tenant_id, channel = await setup(tenancy, "meta")
        async with notify_stack() as s:
            reply = await s.stub.SendMessage(send(tenant_id, channel.id, phone(), wait=True))
            pmid = reply.delivery.provider_message_id

            async def report(status, **kw):
                return await s.stub.RecordProviderStatus(pb.RecordProviderStatusRequest(
                    tenant_id=tenant_id, provider="meta", provider_message_id=pmid, status=status, **kw))  # fmt: skip

            assert (await report(pb.DELIVERY_STATUS_READ)).delivery.status == pb.DELIVERY_STATUS_READ
            late = await report(pb.DELIVERY_STATUS_DELIVERED)
            assert late.recorded and late.delivery.status == pb.DELIVERY_STATUS_READ
            assert not (await report(pb.DELIVERY_STATUS_READ)).recorded
            failed = await report(pb.DELIVERY_STATUS_FAILED, error_code="131049", error_title="x")
            assert failed.delivery.status == pb.DELIVERY_STATUS_READ
            unknown = await s.stub.RecordProviderStatus(pb.RecordProviderStatusRequest(
                tenant_id=tenant_id, provider="meta", provider_message_id="wamid.nope", status=pb.DELIVERY_STATUS_READ))  # fmt: skip
            assert not unknown.found

    async def test_failed_status_carries_the_reason(self, tenancy, notify_stack):
        tenant_id, channel = await setup(tenancy, "meta")
        async with notify_stack() as s:
            reply = await s.stub.SendMessage(send(tenant_id, channel.id, phone(), wait=True))
            failed = await s.stub.RecordProviderStatus(pb.RecordProviderStatusRequest(
                tenant_id=tenant_id, provider="meta", provider_message_id=reply.delivery.provider_message_id,
                status=pb.DELIVERY_STATUS_FAILED, error_code="131047", error_title="Re-engagement message"))  # fmt: skip
        assert failed.delivery.status == pb.DELIVERY_STATUS_FAILED
        assert (failed.delivery.error_code, failed.delivery.last_error) == ("131047", "Re-engagement message")


def _retry_after(value: str):
    class WithHeader:
        def __ror__(self, answer):
            answer.headers["Retry-After"] = value
            return answer

    return WithHeader()


def fp_grpc_error():
    import grpc

    return grpc.aio.AioRpcError


async def _get(s, tenant_id: str, delivery_id: str) -> pb.Delivery:
    reply = await s.stub.GetDelivery(pb.GetDeliveryRequest(tenant_id=tenant_id, delivery_id=delivery_id))
    return reply.delivery


async def _status(s, tenant_id: str, delivery_id: str, status: int) -> pb.Delivery | None:
    got = await _get(s, tenant_id, delivery_id)
    return got if got.status == status else None


async def _sent(s, tenant_id: str, delivery_id: str) -> pb.Delivery | None:
    return await _status(s, tenant_id, delivery_id, pb.DELIVERY_STATUS_SENT)


class TestSentAtOnce:
    """A running sender with a free slot sends what SendMessage queued at once: the delivery is born
    leased to it, so it needs neither the poll (a minute here) nor a claim."""

    async def test_a_queued_message_is_sent_without_waiting_for_the_poll(
        self, tenancy, fake, notify_stack, sql
    ):
        tenant_id, channel = await setup(tenancy, "meta")
        to = phone()
        async with notify_stack(run_worker=True, sender_poll_seconds=60) as s:
            await asyncio.sleep(0.2)  # the loop's first claim is behind it
            reply = await s.stub.SendMessage(send(tenant_id, channel.id, to))
            assert reply.created

            async def sent() -> bool:
                row = await sql.fetchrow(
                    "SELECT * FROM notify.deliveries WHERE id = $1", uuid.UUID(reply.delivery_id)
                )
                return row["status"] == "sent"

            assert await eventually(sent)
            row = await sql.fetchrow(
                "SELECT * FROM notify.deliveries WHERE id = $1", uuid.UUID(reply.delivery_id)
            )
            attempts = await sql.fetch("SELECT outcome, attempt, http_status FROM notify.delivery_attempts"
                                       " WHERE delivery_id = $1", row["id"])  # fmt: skip
        assert row["attempts"] == 1 and row["claim_token"] is None and row["lease_until"] is None
        assert row["provider_message_id"] and row["sent_at"] is not None
        assert [tuple(a) for a in attempts] == [("sent", 1, 200)]
        assert [r.json()["to"] for r in fake.received(path=meta_path(channel))].count(to) == 1

    async def test_a_repeated_send_uses_no_slot_and_sends_once(self, tenancy, fake, notify_stack):
        tenant_id, channel = await setup(tenancy, "meta")
        request = send(tenant_id, channel.id, phone())
        async with notify_stack(run_worker=True, sender_poll_seconds=60) as s:
            first = await s.stub.SendMessage(request)
            again = await s.stub.SendMessage(request)
            assert await eventually(lambda: _sent(s, tenant_id, first.delivery_id))
            assert s.sender.lease_for_now() is not None  # no slot stayed promised to the duplicate
        assert first.created and not again.created and first.delivery_id == again.delivery_id
        assert len(fake.received(path=meta_path(channel))) == 1

    async def test_a_template_is_sent_with_its_params_at_once(self, tenancy, fake, notify_stack):
        tenant_id, channel = await setup(tenancy, "meta")
        request = send(tenant_id, channel.id, phone(), window_open=False, template_name="retomada",
                       template_params=["Mariana", "Batel"])  # fmt: skip
        async with notify_stack(run_worker=True, sender_poll_seconds=60) as s:
            await asyncio.sleep(0.2)  # the loop's first claim is behind it: this one is sent at once
            reply = await s.stub.SendMessage(request)
            assert await eventually(lambda: _sent(s, tenant_id, reply.delivery_id))
        [sent] = fake.received(path=meta_path(channel))
        parameters = sent.json()["template"]["components"][0]["parameters"]
        assert parameters == [{"type": "text", "text": "Mariana"}, {"type": "text", "text": "Batel"}]

    async def test_a_refused_send_gives_its_slot_back(self, tenancy, notify_stack):
        tenant_id, channel = await setup(tenancy, "meta")
        async with notify_stack(run_worker=True, sender_poll_seconds=60, sender_concurrency=1) as s:
            await asyncio.sleep(0.2)
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await s.stub.SendMessage(send(tenant_id, channel.id, " "))
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert s.sender.lease_for_now() is not None  # the only slot was not kept for it

    async def test_with_every_slot_busy_it_is_queued_and_sent_when_one_frees_up(
        self, tenancy, fake, notify_stack
    ):
        tenant_id, channel = await setup(tenancy, "meta")
        fake.queue(meta_path(channel), fp.delay(0.5))
        async with notify_stack(
            run_worker=True, sender_poll_seconds=60, sender_concurrency=1, pace_recipient_interval_seconds=0
        ) as s:
            slow = await s.stub.SendMessage(send(tenant_id, channel.id, phone()))
            queued = await s.stub.SendMessage(send(tenant_id, channel.id, phone()))
            assert queued.status == pb.DELIVERY_STATUS_QUEUED
            for reply in (slow, queued):
                assert await eventually(lambda r=reply: _sent(s, tenant_id, r.delivery_id))
        assert len(fake.received(path=meta_path(channel))) == 2
