"""IngestBatch through a real gRPC server and Postgres: each item answered on its own, in order, with
the same storage rules as IngestInbound."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import asyncpg
import grpc
import pytest
from alembic import command

import conversation
from kit.dbadmin import asyncpg_dsn
from kit.migrate import alembic_config
from kit.service import migrations_dir
from vellarys.conversation.v1 import conversation_pb2 as pb

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _phone(n: int) -> str:
    return f"+55419{n:08d}"


async def _batch(stub, items: list[pb.IngestInboundRequest]) -> list[pb.IngestBatchResult]:
    reply = await stub.IngestBatch(pb.IngestBatchRequest(items=items))
    assert len(reply.results) == len(items)
    return list(reply.results)


async def _until_waiting_for_a_lock(sql, where: str, arg, gone: Callable[[], bool] = lambda: False) -> bool:
    """Polls for up to 10 s until a backend matching `where` ($1 = `arg`) waits for a lock; False if
    it never does, or once `gone()` says it will not."""
    for _ in range(200):
        if await sql.fetchval(
            f"SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND {where}", arg
        ):
            return True
        if gone():
            return False
        await asyncio.sleep(0.05)
    return False


class TestIngestBatch:
    async def test_live_events_of_a_batch_are_announced_once_committed(self, stub, h):
        t = h.new_id()
        admin = h.as_user("admin", t)
        call = stub.WatchEvents(pb.WatchEventsRequest(), metadata=admin)
        await call.wait_for_connection()
        got: list[tuple[str, str]] = []

        async def collect() -> None:
            async for event in call:
                got.append((event.type, event.lead_id))

        task = asyncio.create_task(collect())
        try:
            first = h.message(t, _phone(91))
            results = await _batch(
                stub, [first, h.message(t, _phone(92)), h.message(t, _phone(91), text="de novo")]
            )
            again = await _batch(stub, [first])  # a provider's retry: stored before, announced before
            a, b, c = (r.ok.lead_id for r in results)
            assert not again[0].ok.created and c == a
            # Postgres delivers identical notifications of one transaction once: a's two messages
            # of the batch are one "message.received" for the dashboard.
            expected = {
                ("lead.created", a),
                ("message.received", a),
                ("lead.created", b),
                ("message.received", b),
            }
            for _ in range(100):
                if set(got) >= expected:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)  # nothing more may come
            assert sorted(got) == sorted(expected)
        finally:
            call.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def test_items_answered_in_order_across_tenants(self, stub, sql, h):
        t1, t2 = h.new_id(), h.new_id()
        items = [
            h.message(t1, _phone(1), raw_json=json.dumps({"id": "a"})),
            h.message(t2, _phone(2)),
            h.message(t1, _phone(3)),
            h.message(t1, _phone(1), text="segunda mensagem"),
        ]
        results = await _batch(stub, items)
        assert all(r.HasField("ok") and r.ok.created for r in results)
        assert [r.ok.lead_created for r in results] == [True, True, True, False]
        assert results[0].ok.lead_id == results[3].ok.lead_id
        for item, result in zip(items, results, strict=True):
            row = await sql.fetchrow(
                "SELECT tenant_id, external_id, text, lead_id FROM conversation.messages WHERE id = $1",
                uuid.UUID(result.ok.message_id),
            )
            assert str(row["tenant_id"]) == item.tenant_id
            assert row["external_id"] == item.message.external_id
            assert row["text"] == item.message.text
            assert str(row["lead_id"]) == result.ok.lead_id
        raw = await sql.fetchval(
            "SELECT raw FROM conversation.messages WHERE id = $1", uuid.UUID(results[0].ok.message_id)
        )
        assert json.loads(raw) == {"id": "a"}
        count = await sql.fetchval(
            "SELECT message_count FROM conversation.leads WHERE id = $1", uuid.UUID(results[0].ok.lead_id)
        )
        assert count == 2

    async def test_a_copy_in_the_same_batch_is_stored_once(self, stub, sql, h):
        t = h.new_id()
        first = h.message(t, _phone(10))
        copy = pb.IngestInboundRequest()
        copy.CopyFrom(first)
        results = await _batch(stub, [first, copy])
        assert [r.ok.created for r in results] == [True, False]
        assert results[0].ok.message_id == results[1].ok.message_id
        stored = await sql.fetchval(
            "SELECT count(*) FROM conversation.messages WHERE tenant_id = $1 AND external_id = $2",
            uuid.UUID(t),
            first.message.external_id,
        )
        assert stored == 1

    async def test_a_copy_in_the_same_batch_counts_once(self, stub, sql, h):
        """The copy's new lead and conversation were born counting both items: one is given back."""
        t = h.new_id()
        first = h.message(t, _phone(11))
        copy = pb.IngestInboundRequest()
        copy.CopyFrom(first)
        stored, again = await _batch(stub, [first, copy])
        assert (stored.ok.lead_created, again.ok.lead_created) == (True, False)
        assert (stored.ok.reply_scheduled, again.ok.reply_scheduled) == (True, False)
        row = await sql.fetchrow(
            "SELECT l.message_count, c.last_inbound_at FROM conversation.leads l"
            " JOIN conversation.conversations c ON c.lead_id = l.id WHERE l.id = $1",
            uuid.UUID(stored.ok.lead_id),
        )
        assert row["message_count"] == 1 and row["last_inbound_at"] is not None

    async def test_new_leads_of_one_batch_each_count_at_their_own_position(self, stub, sql, h):
        t1, t2 = h.new_id(), h.new_id()
        limits = pb.LimitState(new_leads_per_day_soft=1, new_leads_per_day_hard=2)
        items = [h.message(t1, _phone(20 + n), limits=limits) for n in range(4)]
        items.insert(2, h.message(t2, _phone(20), limits=limits))
        items.append(h.message(t1, _phone(20), limits=limits, text="de novo"))
        results = [r.ok for r in await _batch(stub, items)]
        assert [r.lead_created for r in results] == [True, True, True, True, True, False]
        assert [list(r.soft_limits_hit) for r in results] == [[], ["leads_per_day_soft"], [], [], [], []]
        blocked = [r.auto_reply_blocked for r in results]
        assert blocked == ["", "", "", "leads_per_day_hard", "leads_per_day_hard", ""]
        assert [r.reply_scheduled for r in results] == [True, True, True, False, False, True]
        for result, reason in zip(results, blocked, strict=True):
            assert (
                await sql.fetchval(
                    "SELECT coalesce(auto_reply_blocked, '') FROM conversation.messages WHERE id = $1",
                    uuid.UUID(result.message_id),
                )
                == reason
            )
        counts = await sql.fetch(
            "SELECT tenant_id, new_leads FROM conversation.tenant_day_counters WHERE tenant_id = ANY($1)",
            [uuid.UUID(t1), uuid.UUID(t2)],
        )
        assert {str(r["tenant_id"]): r["new_leads"] for r in counts} == {t1: 4, t2: 1}

    async def test_a_lead_with_many_messages_in_one_batch(self, stub, sql, h):
        """As if stored one by one: the last name given, every message counted, the latest time, one
        reply job for the last message; a known lead's time never moves back."""
        t = h.new_id()
        start = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
        (known,) = await _batch(stub, [h.message(t, _phone(31), at=start + timedelta(minutes=10))])
        old = h.message(t, _phone(31), at=start)  # stored before: its copy below counts nothing
        await _batch(stub, [old])
        items = [
            h.message(t, _phone(30), at=start + timedelta(minutes=2), sender_name="Maria"),
            h.message(t, _phone(31), at=start + timedelta(minutes=1)),
            h.message(t, _phone(30), at=start + timedelta(minutes=1), sender_name=""),
            old,
            h.message(t, _phone(30), at=start + timedelta(minutes=3), sender_name="Maria Souza"),
        ]
        results = [r.ok for r in await _batch(stub, items)]
        assert [r.created for r in results] == [True, True, True, False, True]
        assert [r.lead_created for r in results] == [True, False, False, False, False]
        new_lead, known_lead = results[0].lead_id, known.ok.lead_id
        assert {results[2].lead_id, results[4].lead_id} == {new_lead}
        assert {results[1].lead_id, results[3].lead_id} == {known_lead}
        leads = {
            str(r["id"]): (r["name"], r["message_count"], r["last_message_at"], r["last_inbound_at"])
            for r in await sql.fetch(
                "SELECT l.id, l.name, l.message_count, l.last_message_at, c.last_inbound_at"
                " FROM conversation.leads l JOIN conversation.conversations c ON c.lead_id = l.id"
                " WHERE l.tenant_id = $1",
                uuid.UUID(t),
            )
        }
        latest = start + timedelta(minutes=3)
        assert leads[new_lead] == ("Maria Souza", 3, latest, latest)
        late = start + timedelta(minutes=10)
        assert leads[known_lead][1:] == (3, late, late)
        jobs = await sql.fetch(
            "SELECT lead_id, last_message_id FROM conversation.reply_jobs WHERE tenant_id = $1"
            " AND status = 'queued'",
            uuid.UUID(t),
        )
        last = {str(r["lead_id"]): str(r["last_message_id"]) for r in jobs}
        assert last == {new_lead: results[4].message_id, known_lead: results[1].message_id}

    async def test_a_raw_payload_postgres_refuses_is_kept_as_text(self, stub, sql, h):
        """A lone surrogate escape is JSON to Python but not to jsonb: that payload is stored as a
        JSON string, and the rest of its batch as usual; the provider's own JSON text is stored
        as it came (a number past float precision keeps every digit)."""
        t = h.new_id()
        odd = '{"text": "\\ud83d", "n": NaN}'
        exact = '{"id": 12345678901234567890123, "text": "ol\\u00e1\\u0000"}'
        results = await _batch(
            stub, [h.message(t, _phone(40), raw_json=odd), h.message(t, _phone(41), raw_json=exact)]
        )
        assert all(r.HasField("ok") and r.ok.created for r in results)
        raws = [
            await sql.fetchval(
                "SELECT raw::text FROM conversation.messages WHERE id = $1", uuid.UUID(r.ok.message_id)
            )
            for r in results
        ]
        assert json.loads(raws[0]) == odd
        assert raws[1] == '{"id": 12345678901234567890123, "text": "olá"}'

    async def test_an_invalid_item_fails_alone(self, stub, sql, h):
        t = h.new_id()
        good = h.message(t, _phone(20))
        no_sender = h.message(t, "")
        bad_tenant = h.message("not-a-uuid", _phone(21))
        results = await _batch(stub, [no_sender, good, bad_tenant])
        assert results[1].HasField("ok") and results[1].ok.created
        for failed, field in ((results[0], "sender"), (results[2], "tenant_id")):
            assert failed.HasField("error")
            assert failed.error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
            assert field in failed.error.message
        stored = await sql.fetchval(
            "SELECT count(*) FROM conversation.messages WHERE tenant_id = $1", uuid.UUID(t)
        )
        assert stored == 1

    async def test_business_phone_messages_take_the_general_path(self, stub, sql, h):
        t = h.new_id()
        lead = h.message(t, _phone(30))
        seller = h.message(t, _phone(30), from_me=True, text="Oi, aqui é o corretor")
        results = await _batch(stub, [lead, seller])
        assert all(r.ok.created for r in results)
        directions = await sql.fetch(
            "SELECT direction FROM conversation.messages WHERE tenant_id = $1 ORDER BY created_at",
            uuid.UUID(t),
        )
        assert sorted(r["direction"] for r in directions) == ["inbound", "outbound_human"]
        owner = await sql.fetchval(
            "SELECT owner FROM conversation.conversations WHERE id = $1",
            uuid.UUID(results[0].ok.conversation_id),
        )
        assert owner == "human"

    async def test_each_reply_job_keeps_its_webhooks_trace(self, stub, sql, h):
        t = h.new_id()
        traced = h.message(t, _phone(40))
        traced.traceparent = TRACEPARENT
        traced.tracestate = "vendor=1"
        results = await _batch(stub, [traced, h.message(t, _phone(41))])
        assert all(r.ok.reply_scheduled for r in results)
        jobs = {
            str(r["conversation_id"]): (r["traceparent"], r["tracestate"])
            for r in await sql.fetch(
                "SELECT conversation_id, traceparent, tracestate FROM conversation.reply_jobs"
                " WHERE tenant_id = $1",
                uuid.UUID(t),
            )
        }
        assert jobs[results[0].ok.conversation_id] == (TRACEPARENT, "vendor=1")
        assert jobs[results[1].ok.conversation_id][0] != TRACEPARENT

    async def test_concurrent_batches_over_the_same_leads(self, stub, sql, h):
        """Opposite orders over the same leads and day counters: no deadlock reaches the caller."""
        t1, t2 = h.new_id(), h.new_id()
        phones = [_phone(50 + n) for n in range(12)]

        def forward() -> list[pb.IngestInboundRequest]:
            return [h.message(t, p) for t in (t1, t2) for p in phones]

        def backward() -> list[pb.IngestInboundRequest]:
            return [h.message(t, p) for t in (t2, t1) for p in reversed(phones)]

        batches = [make() for _ in range(3) for make in (forward, backward)]
        replies = await asyncio.gather(*(_batch(stub, b) for b in batches))
        assert [r.error.message for batch in replies for r in batch if not r.HasField("ok")] == []
        assert all(r.ok.created for batch in replies for r in batch)
        leads = await sql.fetchval(
            "SELECT count(*) FROM conversation.leads WHERE tenant_id = ANY($1::uuid[])",
            [uuid.UUID(t1), uuid.UUID(t2)],
        )
        assert leads == 2 * len(phones)
        counted = await sql.fetchval(
            "SELECT sum(new_leads) FROM conversation.tenant_day_counters WHERE tenant_id = ANY($1::uuid[])",
            [uuid.UUID(t1), uuid.UUID(t2)],
        )
        assert counted == 2 * len(phones)

    async def test_a_batch_postgres_fails_for_a_deadlock_runs_again_whole(
        self, stub, sql, h, database_url, caplog
    ):
        """Another transaction holds the second lead and asks for the first while the batch holds the
        first and waits for the second: Postgres fails the batch (40P01), which runs again as one
        batch once the way is clear. Every item stored once; nothing falls back to one by one."""
        t = h.new_id()
        # The batch locks the two leads in this order (by phone).
        first, second = [(await _batch(stub, [h.message(t, _phone(n))]))[0].ok.lead_id for n in (31, 32)]
        items = [h.message(t, _phone(31), text="um"), h.message(t, _phone(32), text="dois")]
        other = await asyncpg.connect(asyncpg_dsn(database_url))
        try:
            async with other.transaction():
                # This side looks for a lock cycle only after a minute: the batch's backend, on
                # the default second, is the one that finds it and fails.
                await other.execute("SET LOCAL deadlock_timeout = '60s'")
                lock = "SELECT 1 FROM conversation.leads WHERE id = $1 FOR UPDATE"
                await other.execute(lock, uuid.UUID(second))
                batch = asyncio.create_task(_batch(stub, items))
                # Until the batch holds the first lead and waits for the second.
                waiting = await _until_waiting_for_a_lock(
                    sql, "query LIKE $1", "%ingest_inbound_many%", batch.done
                )
                assert waiting, "the batch never waited for the held lead"
                await other.execute(lock, uuid.UUID(first))  # closes the cycle
        finally:
            await other.close()
        results = await batch
        assert [r.error.message for r in results if not r.HasField("ok")] == []
        assert [r.ok.lead_id for r in results] == [first, second] and all(r.ok.created for r in results)
        assert "one by one" not in caplog.text
        stored = await sql.fetch(
            "SELECT text FROM conversation.messages WHERE tenant_id = $1 AND text IN ('um', 'dois')",
            uuid.UUID(t),
        )
        assert sorted(r["text"] for r in stored) == ["dois", "um"]

    async def test_a_message_the_database_refuses_fails_alone(self, stub, sql, h):
        """A store error inside the batch: the batch is stored item by item and only that one fails."""
        t = h.new_id()
        await sql.execute(
            "CREATE FUNCTION conversation.test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN IF NEW.text = 'recusar' THEN RAISE EXCEPTION 'refused by test'; END IF; RETURN NEW; END $$"
        )
        await sql.execute(
            "CREATE TRIGGER test_refuse BEFORE INSERT ON conversation.messages"
            " FOR EACH ROW EXECUTE FUNCTION conversation.test_refuse()"
        )
        try:
            results = await _batch(
                stub,
                [
                    h.message(t, _phone(70)),
                    h.message(t, _phone(71), text="recusar"),
                    h.message(t, _phone(72)),
                ],
            )
        finally:
            await sql.execute("DROP TRIGGER test_refuse ON conversation.messages")
            await sql.execute("DROP FUNCTION conversation.test_refuse()")
        assert results[0].ok.created and results[2].ok.created
        assert results[1].HasField("error")
        assert results[1].error.code == grpc.StatusCode.UNAVAILABLE.value[0]
        texts = await sql.fetch("SELECT text FROM conversation.messages WHERE tenant_id = $1", uuid.UUID(t))
        assert "recusar" not in {r["text"] for r in texts} and len(texts) == 2

    async def test_only_internal_callers(self, stub, h):
        t = h.new_id()
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.IngestBatch(
                pb.IngestBatchRequest(items=[h.message(t, _phone(80))]), metadata=h.as_user("admin", t)
            )
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED

    async def test_an_empty_batch(self, stub):
        assert list((await stub.IngestBatch(pb.IngestBatchRequest())).results) == []

    async def test_the_conversation_follows_the_latest_channel(self, stub, sql, h):
        t, first, second = h.new_id(), h.new_id(), h.new_id()
        seen = []
        for channel in (first, "", second, second):
            (result,) = await _batch(stub, [h.message(t, _phone(90), channel_id=channel)])
            seen.append(
                str(
                    await sql.fetchval(
                        "SELECT channel_id FROM conversation.conversations WHERE id = $1",
                        uuid.UUID(result.ok.conversation_id),
                    )
                )
            )
        assert seen == [first, first, second, second]

    async def test_a_known_message_from_another_identity_counts_nothing(self, stub, sql, h):
        """The same provider id under a second identity (say a Z-API @lid, then the phone): the
        message stays the first one's; the second identity's new lead counts no message."""
        t = h.new_id()
        first = h.message(t, _phone(95))
        again = h.message(t, "5541@lid-95", external_id=first.message.external_id)
        (stored,) = await _batch(stub, [first])
        (copy,) = await _batch(stub, [again])
        assert stored.ok.created and not copy.ok.created
        assert copy.ok.message_id == stored.ok.message_id
        rows = await sql.fetch(
            "SELECT l.phone, l.message_count, c.last_inbound_at FROM conversation.leads l"
            " JOIN conversation.conversations c ON c.lead_id = l.id WHERE l.tenant_id = $1 ORDER BY l.phone",
            uuid.UUID(t),
        )
        counts = {r["phone"]: (r["message_count"], r["last_inbound_at"] is not None) for r in rows}
        assert counts[_phone(95)] == (1, True)
        assert [v for k, v in counts.items() if k != _phone(95)] == [(0, False)]
        total = await sql.fetchval(
            "SELECT count(*) FROM conversation.messages WHERE tenant_id = $1", uuid.UUID(t)
        )
        assert total == 1


_INGEST_ONE = (
    "SELECT r_lead_id, r_lead_created, r_message_id, r_created FROM conversation.ingest_inbound_many("
    " ARRAY[$1::uuid], ARRAY[$2], ARRAY['Maria'], ARRAY[now()], ARRAY[NULL::uuid], ARRAY['zapi'], ARRAY[$3],"
    " ARRAY['text'], ARRAY['Oi'], ARRAY[NULL], ARRAY[NULL], ARRAY[''], ARRAY[NULL], ARRAY[NULL::timestamptz],"
    " ARRAY[''], ARRAY[0], ARRAY[0], ARRAY[false], ARRAY[1.0::float8], ARRAY[10.0::float8], ARRAY[''],"
    " ARRAY[''])"
)


async def test_a_copy_committed_while_it_waits_is_counted_once(stub, sql, h, database_url):
    """Two copies of one message in flight at once for a known lead: the second starts before the
    first commits and waits on the lead's row lock. Once the first commits, the second meets the
    message in the messages' unique index: one message, counted once, the same ids for both."""
    t = h.new_id()
    (known,) = await _batch(stub, [h.message(t, _phone(97))])
    copy = uuid.uuid4().hex
    first = await asyncpg.connect(asyncpg_dsn(database_url))
    second = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        async with first.transaction():
            stored = await first.fetchrow(_INGEST_ONE, uuid.UUID(t), _phone(97), copy)
            late = asyncio.create_task(second.fetchrow(_INGEST_ONE, uuid.UUID(t), _phone(97), copy))
            # The second copy is waiting for the lead row the first holds.
            waiting = await _until_waiting_for_a_lock(sql, "pid = $1", second.get_server_pid())
            assert waiting, "the second copy never waited for the first one's lock"
        again = await late
    finally:
        await first.close()
        await second.close()
    assert stored["r_created"] and not again["r_created"]
    assert again["r_message_id"] == stored["r_message_id"] and str(again["r_lead_id"]) == known.ok.lead_id
    count = await sql.fetchval(
        "SELECT message_count FROM conversation.leads WHERE id = $1", uuid.UUID(known.ok.lead_id)
    )
    assert count == 2
    assert await sql.fetchval("SELECT count(*) FROM conversation.messages WHERE external_id = $1", copy) == 1


async def test_the_ingest_migrations_go_down_and_up_again(migrated, sql):
    """0008's downgrade restores 0007's per-message function and 0006's loop over it, 0007's restores
    0005's, 0006's drops the batch function; up again, 0008's is back. (Other tests then find the
    schema at head, as they left it.)"""
    url = migrated("conversation", conversation.__file__)
    config = alembic_config(migrations_dir(conversation.__file__), url, "conversation")

    async def body(name: str) -> str | None:
        # By name at each call: a prepared statement would keep the oid of a function dropped since.
        found = await sql.fetchval("SELECT pg_get_functiondef(to_regproc($1))", f"conversation.{name}")
        return None if found is None else str(found)

    def run(step: Callable[..., None], revision: str) -> None:
        with ThreadPoolExecutor(max_workers=1) as pool:  # alembic's env runs a loop of its own
            pool.submit(step, config, revision).result()

    async def at_head() -> None:
        assert "enable_bitmapscan" in (await body("ingest_inbound_many") or "")
        assert await body("ingest_inbound") is None

    await at_head()
    run(command.downgrade, "0007")
    assert "FROM conversation.ingest_inbound(" in (await body("ingest_inbound_many") or "")
    assert "IS DISTINCT FROM leads.name" in (await body("ingest_inbound") or "")
    run(command.downgrade, "0005")
    assert "ELSE leads.name END" in (await body("ingest_inbound") or "")
    assert await body("ingest_inbound_many") is None
    run(command.upgrade, "head")
    await at_head()
