"""Limits flags, echoes of the business phone and of our own sends, delivery statuses (real gRPC + Postgres)."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest

from vellarys.conversation.v1 import conversation_pb2 as pb

SOFT, HARD = pb.LIMIT_LEVEL_SOFT, pb.LIMIT_LEVEL_HARD


async def flag_of(sql, message_id: str) -> str | None:
    return await sql.fetchval(
        "SELECT auto_reply_blocked FROM conversation.messages WHERE id = $1", uuid.UUID(message_id)
    )


async def count(sql, table: str, tenant_id: str) -> int:
    return await sql.fetchval(
        f"SELECT count(*) FROM conversation.{table} WHERE tenant_id = $1", uuid.UUID(tenant_id)
    )


async def outbound(sql, stub, h, tenant_id: str, direction: str = "outbound_ai") -> tuple[str, str]:
    """(lead id, message id) of an outbound message stored before the provider gave it an id."""
    first = await stub.IngestInbound(h.message(tenant_id))
    message_id = uuid.uuid4()
    await sql.execute(
        """INSERT INTO conversation.messages (id, tenant_id, lead_id, conversation_id, direction, provider,
           kind, text) VALUES ($1, $2, $3, $4, $5, 'zapi', 'text', 'Olá! Sou a assistente.')""",
        message_id,
        uuid.UUID(tenant_id),
        uuid.UUID(first.lead_id),
        uuid.UUID(first.conversation_id),
        direction,
    )
    return first.lead_id, str(message_id)


class TestLimits:
    async def test_within_limits_gets_auto_reply(self, stub, sql, h):
        reply = await stub.IngestInbound(h.message(h.new_id(), limits=pb.LimitState()))
        assert reply.created and reply.auto_reply and reply.conversation_id
        assert (reply.auto_reply_blocked, list(reply.soft_limits_hit)) == ("", [])
        assert await flag_of(sql, reply.message_id) is None

    async def test_soft_messages_per_minute_is_reported_not_blocked(self, stub, sql, h):
        limits = pb.LimitState(messages_per_minute=SOFT)
        reply = await stub.IngestInbound(h.message(h.new_id(), limits=limits))
        assert reply.auto_reply and list(reply.soft_limits_hit) == ["messages_per_minute_soft"]
        assert await flag_of(sql, reply.message_id) is None

    @pytest.mark.parametrize(
        ("limits", "reason"),
        [
            (pb.LimitState(messages_per_minute=HARD), "messages_per_minute_hard"),
            (pb.LimitState(tenant_suspended=True), "tenant_suspended"),
            (pb.LimitState(messages_per_minute=HARD, tenant_suspended=True), "tenant_suspended"),
        ],
    )
    async def test_hard_or_suspended_is_stored_flagged_and_not_answered(self, stub, sql, h, limits, reason):
        t = h.new_id()
        reply = await stub.IngestInbound(h.message(t, limits=limits))
        assert reply.created and not reply.auto_reply and reply.auto_reply_blocked == reason
        assert await flag_of(sql, reply.message_id) == reason
        assert await count(sql, "messages", t) == 1

    async def test_duplicate_gets_no_second_auto_reply(self, stub, h):
        request = h.message(h.new_id())
        assert (await stub.IngestInbound(request)).auto_reply
        again = await stub.IngestInbound(request)
        assert not again.created and not again.auto_reply and again.conversation_id

    async def test_new_leads_per_day_soft_then_hard(self, stub, sql, h):
        t = h.new_id()
        limits = pb.LimitState(new_leads_per_day_soft=2, new_leads_per_day_hard=3)
        replies = [
            await stub.IngestInbound(h.message(t, f"+55419999900{i:02d}", limits=limits)) for i in range(4)
        ]
        assert [list(r.soft_limits_hit) for r in replies] == [[], [], ["leads_per_day_soft"], []]
        assert [r.auto_reply_blocked for r in replies] == ["", "", "", "leads_per_day_hard"]
        assert await flag_of(sql, replies[3].message_id) == "leads_per_day_hard"
        # A known lead's next message is not a new lead: the counter does not move.
        again = await stub.IngestInbound(h.message(t, "+5541999990000", limits=limits))
        assert not again.lead_created and again.auto_reply
        assert (
            await sql.fetchval(
                "SELECT new_leads FROM conversation.tenant_day_counters WHERE tenant_id = $1", uuid.UUID(t)
            )
            == 4
        )

    async def test_leads_per_day_counter_is_exact_under_concurrency(self, stub, sql, h):
        t = h.new_id()
        limits = pb.LimitState(new_leads_per_day_soft=10, new_leads_per_day_hard=20)
        requests = [h.message(t, f"+554198888{i:04d}", limits=limits) for i in range(30)]
        copies = requests + requests[:10]  # provider retries of some first messages, concurrently
        replies = await asyncio.gather(*(stub.IngestInbound(r) for r in copies))
        assert sum(r.lead_created for r in replies) == 30
        day = await sql.fetchrow(
            "SELECT day, new_leads FROM conversation.tenant_day_counters WHERE tenant_id = $1", uuid.UUID(t)
        )
        assert day["new_leads"] == 30
        today = await sql.fetchval("SELECT (now() AT TIME ZONE 'America/Sao_Paulo')::date")
        assert day["day"] == today
        flagged = await sql.fetchval(
            "SELECT count(*) FROM conversation.messages WHERE tenant_id = $1 AND auto_reply_blocked = $2",
            uuid.UUID(t),
            "leads_per_day_hard",
        )
        assert flagged == 10

    async def test_dashboard_user_cannot_ingest(self, stub, h):
        t = h.new_id()
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.IngestInbound(h.message(t), metadata=h.as_user("admin", t))
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


class TestEchoes:
    async def test_from_me_is_a_human_takeover_event(self, stub, sql, h):
        t = h.new_id()
        await stub.IngestInbound(h.message(t))
        request = h.message(t, from_me=True, text="Oi Maria, aqui é o João da imobiliária")
        reply = await stub.IngestInbound(request)
        assert reply.created and not reply.auto_reply
        await stub.IngestInbound(request)  # the provider's retry adds no second event
        events = await sql.fetch(
            "SELECT kind, reason, owner, message_id, conversation_id"
            " FROM conversation.conversation_events WHERE tenant_id = $1",
            uuid.UUID(t),
        )
        assert [(e["kind"], e["reason"], e["owner"], str(e["message_id"])) for e in events] == [
            ("owner_changed", "human_message_from_phone", "human", reply.message_id)
        ]
        assert str(events[0]["conversation_id"]) == reply.conversation_id
        owner = await sql.fetchval(
            "SELECT owner FROM conversation.conversations WHERE id = $1", uuid.UUID(reply.conversation_id)
        )
        assert owner == "human"

    async def test_echo_of_our_sent_message_is_not_stored_twice(self, stub, sql, h):
        t = h.new_id()
        _lead_id, ours = await outbound(sql, stub, h, t)
        await stub.RecordOutboundSent(
            pb.RecordOutboundSentRequest(
                tenant_id=t, message_id=ours, provider="zapi", provider_message_id="3EB0A1"
            )
        )
        echo = await stub.IngestInbound(h.message(t, external_id="3EB0A1", from_me=True, text="Olá!"))
        assert (echo.created, echo.message_id, echo.auto_reply) == (False, ours, False)
        assert await count(sql, "messages", t) == 2
        assert await count(sql, "conversation_events", t) == 0

    async def test_echo_that_arrives_before_the_send_result_is_folded_in(self, stub, sql, h):
        t = h.new_id()
        lead_id, ours = await outbound(sql, stub, h, t)
        echo = await stub.IngestInbound(h.message(t, external_id="wamid.X1", from_me=True, text="Olá!"))
        assert echo.created
        await stub.RecordOutboundSent(
            pb.RecordOutboundSentRequest(
                tenant_id=t, message_id=ours, provider="zapi", provider_message_id="wamid.X1"
            )
        )
        rows = await sql.fetch(
            "SELECT id, direction, external_id FROM conversation.messages WHERE tenant_id = $1 ORDER BY direction",
            uuid.UUID(t),
        )
        assert [(str(r["id"]), r["direction"]) for r in rows][1] == (ours, "outbound_ai")
        assert len(rows) == 2 and rows[1]["external_id"] == "wamid.X1"
        assert await count(sql, "conversation_events", t) == 0
        lead = await stub.GetLead(pb.GetLeadRequest(tenant_id=t, lead_id=lead_id))
        assert lead.lead.message_count == 1  # the inbound one; ours is counted by whoever stores it

    async def test_send_result_racing_its_echo_keeps_one_message(self, stub, sql, h):
        """Whichever commits first, the echo and our message end as one: ours, with the id."""
        t = h.new_id()
        for i in range(12):
            _, ours = await outbound(sql, stub, h, t)
            sent = stub.RecordOutboundSent(
                pb.RecordOutboundSentRequest(
                    tenant_id=t, message_id=ours, provider="zapi", provider_message_id=f"race-{i}"
                )
            )
            echo = stub.IngestInbound(h.message(t, external_id=f"race-{i}", from_me=True, text="Olá!"))
            await asyncio.gather(*((sent, echo) if i % 2 else (echo, sent)))
            rows = await sql.fetch(
                "SELECT id FROM conversation.messages WHERE tenant_id = $1 AND external_id = $2",
                uuid.UUID(t),
                f"race-{i}",
            )
            assert [str(r["id"]) for r in rows] == [ours]
        assert await count(sql, "conversation_events", t) == 0

    async def test_provider_id_of_an_inbound_message_cannot_be_taken(self, stub, h, sql):
        t = h.new_id()
        _, ours = await outbound(sql, stub, h, t)
        taken = await stub.IngestInbound(h.message(t, external_id="in-1"))
        assert taken.created
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.RecordOutboundSent(
                pb.RecordOutboundSentRequest(
                    tenant_id=t, message_id=ours, provider="zapi", provider_message_id="in-1"
                )
            )
        assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS

    async def test_unknown_or_inbound_message_is_not_found(self, stub, h):
        t = h.new_id()
        inbound = await stub.IngestInbound(h.message(t))
        for message_id in (inbound.message_id, h.new_id()):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.RecordOutboundSent(
                    pb.RecordOutboundSentRequest(
                        tenant_id=t, message_id=message_id, provider="zapi", provider_message_id="x"
                    )
                )
            assert err.value.code() == grpc.StatusCode.NOT_FOUND


def status(t: str, provider_id: str, value: int, **fields: object) -> pb.RecordStatusRequest:
    return pb.RecordStatusRequest(
        tenant_id=t, provider="zapi", provider_message_id=provider_id, status=value, **fields
    )


class TestStatuses:
    async def sent_message(self, sql, stub, h, provider_id: str) -> tuple[str, str]:
        t = h.new_id()
        _, ours = await outbound(sql, stub, h, t)
        await stub.RecordOutboundSent(
            pb.RecordOutboundSentRequest(
                tenant_id=t, message_id=ours, provider="zapi", provider_message_id=provider_id
            )
        )
        return t, ours

    async def current(self, sql, message_id: str) -> str:
        return await sql.fetchval(
            "SELECT status FROM conversation.messages WHERE id = $1", uuid.UUID(message_id)
        )

    async def test_fifty_concurrent_copies_store_one_event(self, stub, sql, h):
        t, ours = await self.sent_message(sql, stub, h, "m-50")
        replies = await asyncio.gather(
            *(stub.RecordStatus(status(t, "m-50", pb.DELIVERY_STATUS_DELIVERED)) for _ in range(50))
        )
        assert sum(r.created for r in replies) == 1 and all(r.found for r in replies)
        assert await count(sql, "message_status_events", t) == 1
        assert await self.current(sql, ours) == "delivered"

    async def test_status_never_goes_backwards(self, stub, sql, h):
        t, ours = await self.sent_message(sql, stub, h, "m-back")
        for value in (pb.DELIVERY_STATUS_SENT, pb.DELIVERY_STATUS_READ, pb.DELIVERY_STATUS_DELIVERED):
            reply = await stub.RecordStatus(status(t, "m-back", value))
        assert reply.created and reply.message_status == "read"
        assert await self.current(sql, ours) == "read"
        assert await count(sql, "message_status_events", t) == 3

    async def test_failed_ends_a_sent_message_but_proof_of_delivery_wins(self, stub, sql, h):
        t, _ours = await self.sent_message(sql, stub, h, "m-fail")
        await stub.RecordStatus(status(t, "m-fail", pb.DELIVERY_STATUS_SENT))
        failed = await stub.RecordStatus(
            status(t, "m-fail", pb.DELIVERY_STATUS_FAILED, error_code="131047", error_title="Re-engagement")
        )
        assert failed.message_status == "failed"
        assert (
            await stub.RecordStatus(status(t, "m-fail", pb.DELIVERY_STATUS_QUEUED))
        ).message_status == "failed"
        assert (
            await stub.RecordStatus(status(t, "m-fail", pb.DELIVERY_STATUS_READ))
        ).message_status == "read"
        row = await sql.fetchrow(
            "SELECT error_code, error_title FROM conversation.message_status_events WHERE tenant_id = $1"
            " AND status = 'failed'",
            uuid.UUID(t),
        )
        assert tuple(row) == ("131047", "Re-engagement")

    async def test_failure_reported_after_delivery_is_kept_but_ignored(self, stub, sql, h):
        t, _ours = await self.sent_message(sql, stub, h, "m-late-fail")
        await stub.RecordStatus(status(t, "m-late-fail", pb.DELIVERY_STATUS_DELIVERED))
        late = await stub.RecordStatus(status(t, "m-late-fail", pb.DELIVERY_STATUS_FAILED))
        assert late.created and late.message_status == "delivered"

    async def test_unknown_provider_id_is_an_orphan_attached_later(self, stub, sql, h):
        t = h.new_id()
        reply = await stub.RecordStatus(status(t, "early", pb.DELIVERY_STATUS_DELIVERED))
        assert (reply.found, reply.created, reply.message_status) == (False, True, "")
        again = await stub.RecordStatus(status(t, "early", pb.DELIVERY_STATUS_DELIVERED))
        assert not again.found and not again.created
        _, ours = await outbound(sql, stub, h, t)
        sent = await stub.RecordOutboundSent(
            pb.RecordOutboundSentRequest(
                tenant_id=t, message_id=ours, provider="zapi", provider_message_id="early"
            )
        )
        assert sent.status == "delivered" and await self.current(sql, ours) == "delivered"
        attached = await sql.fetchval(
            "SELECT message_id FROM conversation.message_status_events WHERE tenant_id = $1", uuid.UUID(t)
        )
        assert str(attached) == ours

    async def test_other_tenants_message_is_untouched(self, stub, sql, h):
        _t, ours = await self.sent_message(sql, stub, h, "m-iso")
        other = await stub.RecordStatus(status(h.new_id(), "m-iso", pb.DELIVERY_STATUS_READ))
        assert not other.found and await self.current(sql, ours) is None

    async def test_unspecified_status_is_invalid(self, stub, h):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.RecordStatus(status(h.new_id(), "x", pb.DELIVERY_STATUS_UNSPECIFIED))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "status" in err.value.details()


def sent(t: str, message_id: str, provider_id: str) -> pb.RecordOutboundSentRequest:
    return pb.RecordOutboundSentRequest(
        tenant_id=t, message_id=message_id, provider="zapi", provider_message_id=provider_id
    )


class TestSentBatch:
    """RecordOutboundSentBatch answers each item as RecordOutboundSent would have."""

    async def test_each_item_gets_its_own_answer_in_order(self, stub, sql, h):
        t = h.new_id()
        _, plain = await outbound(sql, stub, h, t)
        _, echoed = await outbound(sql, stub, h, t)
        echo = await stub.IngestInbound(h.message(t, external_id="b-echo", from_me=True, text="Olá!"))
        assert echo.created
        _, early = await outbound(sql, stub, h, t)
        await stub.RecordStatus(status(t, "b-early", pb.DELIVERY_STATUS_READ))
        inbound = await stub.IngestInbound(h.message(t, external_id="b-inbound"))
        _, clashing = await outbound(sql, stub, h, t)
        items = [
            sent(t, plain, "b-plain"),
            sent(t, echoed, "b-echo"),
            sent(t, early, "b-early"),
            sent(t, h.new_id(), "b-unknown"),
            sent(t, "not-an-id", "b-bad"),
            sent(t, clashing, "b-inbound"),
            sent(t, plain, "b-plain"),  # the same report again: idempotent
            sent(h.new_id(), plain, "b-other-tenant"),  # another tenant cannot touch it
        ]
        reply = await stub.RecordOutboundSentBatch(pb.RecordOutboundSentBatchRequest(items=items))
        outcomes = [
            r.ok.status if r.HasField("ok") else grpc.StatusCode(_code(r.error.code)) for r in reply.results
        ]
        assert outcomes == [
            "",
            "",
            "read",
            grpc.StatusCode.NOT_FOUND,
            grpc.StatusCode.INVALID_ARGUMENT,
            grpc.StatusCode.ALREADY_EXISTS,
            "",
            grpc.StatusCode.NOT_FOUND,
        ]
        rows = await sql.fetch(
            "SELECT id, external_id, status FROM conversation.messages WHERE tenant_id = $1", uuid.UUID(t)
        )
        by_id = {str(r["id"]): (r["external_id"], r["status"]) for r in rows}
        assert by_id[plain] == ("b-plain", None)
        assert by_id[echoed] == ("b-echo", None)  # the echo folded into ours
        assert by_id[early] == ("b-early", "read")
        assert by_id[clashing] == (None, None)
        assert by_id[inbound.message_id][0] == "b-inbound"
        assert echo.message_id not in by_id
        assert await count(sql, "conversation_events", t) == 0

    async def test_two_messages_reported_with_one_id_are_settled_one_by_one(self, stub, sql, h):
        t = h.new_id()
        _, first = await outbound(sql, stub, h, t)
        _, second = await outbound(sql, stub, h, t)
        reply = await stub.RecordOutboundSentBatch(
            pb.RecordOutboundSentBatchRequest(items=[sent(t, first, "b-twice"), sent(t, second, "b-twice")])
        )
        assert reply.results[0].HasField("ok")
        assert grpc.StatusCode(_code(reply.results[1].error.code)) == grpc.StatusCode.ALREADY_EXISTS
        holder = await sql.fetchval(
            "SELECT id FROM conversation.messages WHERE tenant_id = $1 AND external_id = 'b-twice'",
            uuid.UUID(t),
        )
        assert str(holder) == first

    async def test_limits_and_permissions(self, stub, h):
        t = h.new_id()
        empty = await stub.RecordOutboundSentBatch(pb.RecordOutboundSentBatchRequest())
        assert list(empty.results) == []
        too_many = [sent(t, h.new_id(), f"x{i}") for i in range(501)]
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.RecordOutboundSentBatch(pb.RecordOutboundSentBatchRequest(items=too_many))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "500" in refused.value.details()
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.RecordOutboundSentBatch(
                pb.RecordOutboundSentBatchRequest(items=[sent(t, h.new_id(), "y")]),
                metadata=h.as_user("admin", t),
            )
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


def _code(number: int) -> tuple[int, str]:
    return next(c.value for c in grpc.StatusCode if c.value[0] == number)
