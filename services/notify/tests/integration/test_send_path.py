"""The send path's statements straight on asyncpg, against a real Postgres: the deliveries they return
are the stored rows (same values, same types), and each statement commits alone."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine

import notify
from kit import db
from notify import service
from notify.models import Delivery
from notify.repository import DeliveryRepository, SendPathRepository


@pytest.fixture(scope="module")
async def engine(migrated) -> AsyncIterator[AsyncEngine]:
    url = migrated("notify", notify.__file__)
    engine = db.create_engine(url, pool_size=2, max_overflow=2, application_name="test-notify-send-path")
    yield engine
    await engine.dispose()


def outbound(**fields: object) -> service.Outbound:
    values: dict[str, object] = {
        "tenant_id": str(uuid.uuid4()), "message_id": str(uuid.uuid4()), "channel_id": str(uuid.uuid4()),
        "recipient": "+5541999990000", "text": "Olá! Qual região você prefere?",
    }  # fmt: skip
    return service.Outbound(**(values | fields))  # type: ignore[arg-type]


async def stored(engine: AsyncEngine, delivery: Delivery) -> Delivery:
    async with db.session_factory(engine).begin() as session:
        return await DeliveryRepository(session).by_message_id(delivery.tenant_id, delivery.message_id)


def fields(delivery: Delivery) -> dict[str, tuple[type, object]]:
    return {
        c.name: (type(getattr(delivery, c.name)), getattr(delivery, c.name))
        for c in Delivery.__table__.columns
    }


class TestSendMessage:
    async def test_the_new_delivery_is_the_stored_row(self, engine):
        out = outbound(window_open=False, template_name="retomada", template_params=["Mariana", "Batel ✓"],
                       traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")  # fmt: skip
        async with engine.connect() as connection:
            queued = await service.send_message(connection, out)
        delivery = queued.delivery
        assert queued.created and inspect(delivery).transient  # in no session: nothing expires or loads
        assert fields(delivery) == fields(await stored(engine, delivery))
        assert delivery.template_params == ["Mariana", "Batel ✓"]
        assert (delivery.template_name, delivery.template_language) == ("retomada", "pt_BR")
        assert isinstance(delivery.id, uuid.UUID) and isinstance(delivery.created_at, datetime)
        assert delivery.claim_token is None and delivery.lease_until is None

    async def test_without_template_params_it_stores_an_empty_list(self, engine):
        async with engine.connect() as connection:
            queued = await service.send_message(connection, outbound())
        assert queued.delivery.template_params == []
        assert (await stored(engine, queued.delivery)).template_params == []

    async def test_a_leased_delivery_is_born_claimed(self, engine):
        token = uuid.uuid4()
        async with engine.connect() as connection:
            delivery = (await service.send_message(connection, outbound(), token, 30.0)).delivery
        assert delivery.claim_token == token and delivery.lease_until is not None
        assert delivery.lease_until - delivery.created_at == timedelta(seconds=30)
        assert fields(delivery) == fields(await stored(engine, delivery))

    async def test_a_repeated_message_returns_the_first_delivery(self, engine):
        out = outbound(template_params=["a"])
        async with engine.connect() as connection:
            first = await service.send_message(connection, out, uuid.uuid4(), 30.0)
            again = await service.send_message(connection, out, uuid.uuid4(), 30.0)
        assert first.created and not again.created
        assert fields(again.delivery) == fields(first.delivery)

    async def test_inside_a_transaction_it_rolls_back_with_it(self, engine):
        out = outbound()
        async with db.session_factory(engine)() as session:
            queued = await service.queue_message(session, out)
            assert queued.created
            await session.rollback()
        async with engine.connect() as connection:
            again = await service.send_message(connection, out)
        assert again.created and again.delivery.id != queued.delivery.id


class TestRecordSent:
    async def test_with_the_claim_it_records_the_send_and_its_attempt(self, engine, sql):
        token = uuid.uuid4()
        async with engine.connect() as connection:
            delivery = (await service.send_message(connection, outbound(), token, 30.0)).delivery
            done = await SendPathRepository(connection).record_sent(delivery.id, token, *sent_outcome())
        assert done
        row = await sql.fetchrow("SELECT * FROM notify.deliveries WHERE id = $1", delivery.id)
        assert (row["status"], row["attempts"], row["provider"], row["provider_message_id"]) == (
            "sent", 1, "meta", "wamid.1",
        )  # fmt: skip
        assert row["claim_token"] is None and row["lease_until"] is None and row["sent_at"] is not None
        attempts = await sql.fetch(
            "SELECT attempt, outcome, http_status, error, duration_ms FROM notify.delivery_attempts"
            " WHERE delivery_id = $1", delivery.id,
        )  # fmt: skip
        assert [tuple(a) for a in attempts] == [(1, "sent", 200, None, 42)]

    async def test_without_the_claim_it_writes_nothing(self, engine, sql):
        async with engine.connect() as connection:
            delivery = (await service.send_message(connection, outbound(), uuid.uuid4(), 30.0)).delivery
            done = await SendPathRepository(connection).record_sent(
                delivery.id, uuid.uuid4(), *sent_outcome()
            )
        assert not done
        row = await sql.fetchrow("SELECT status, attempts FROM notify.deliveries WHERE id = $1", delivery.id)
        assert tuple(row) == ("queued", 0)
        attempts = "SELECT count(*) FROM notify.delivery_attempts WHERE delivery_id = $1"
        assert await sql.fetchval(attempts, delivery.id) == 0


class TestClaim:
    async def test_a_due_delivery_is_leased_to_the_claim(self, engine):
        token = uuid.uuid4()
        async with engine.connect() as connection:
            queued = (await service.send_message(connection, outbound(template_params=["a"]))).delivery
            claimed = await SendPathRepository(connection).claim_one(queued.id, 30.0, token)
        assert claimed is not None and inspect(claimed).transient
        assert claimed.claim_token == token and claimed.lease_until is not None
        assert fields(claimed) == fields(await stored(engine, queued))

    async def test_a_held_delivery_is_not_claimed(self, engine):
        async with engine.connect() as connection:
            leased = (await service.send_message(connection, outbound(), uuid.uuid4(), 30.0)).delivery
            assert await SendPathRepository(connection).claim_one(leased.id, 30.0, uuid.uuid4()) is None

    async def test_the_poll_claims_a_due_delivery_once(self, engine):
        async with engine.connect() as connection:
            queued = (await service.send_message(connection, outbound())).delivery
            path = SendPathRepository(connection)
            first = await path.claim(1000, 30.0, uuid.uuid4())
            again = await path.claim(1000, 30.0, uuid.uuid4())
        assert queued.id in {d.id for d in first} and queued.id not in {d.id for d in again}


def sent_outcome() -> tuple[dict[str, object], dict[str, object]]:
    attempt = {"attempt": 1, "http_status": 200, "error": None, "duration_ms": 42}
    return attempt, {"provider": "meta", "provider_message_id": "wamid.1", "sent_template": None}
