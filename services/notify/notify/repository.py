"""The only module of the notify service that builds SQL."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from kit import db
from notify.models import Delivery, DeliveryAttempt, PushSubscription, StatusEvent, UserNotification

# The send path's statements as constant SQL with $n parameters, run straight on asyncpg
# (kit.db.driver_fetch): through an AsyncSession one costs about 0.41 ms of CPU, on the driver 0.15 ms.
# SQLAlchemy installs its json codecs on these connections: a jsonb parameter travels as JSON text, and
# a jsonb column comes back decoded.
_DELIVERY_COLUMNS = ", ".join(c.name for c in Delivery.__table__.columns)
_INSERT_ONCE = (
    "INSERT INTO notify.deliveries (id, tenant_id, message_id, channel_id, recipient, text, window_open,"
    " template_name, template_language, template_params, source, traceparent, claim_token, lease_until)"
    " VALUES ($1::uuid, $2::uuid, $3::uuid, $4::uuid, $5::text, $6::text, $7::boolean, $8::text, $9::text,"
    " $10::jsonb, $11::text, $12::text, $13::uuid,"
    # Leased at birth when the caller's sender sends it at once (no claim round trip); else NULL.
    " CASE WHEN $13::uuid IS NULL THEN NULL ELSE now() + make_interval(secs => $14::double precision) END)"
    " ON CONFLICT (tenant_id, message_id) DO NOTHING"
    f" RETURNING {_DELIVERY_COLUMNS}"
)
_BY_MESSAGE_ID = (
    f"SELECT {_DELIVERY_COLUMNS} FROM notify.deliveries WHERE tenant_id = $1::uuid AND message_id = $2::uuid"
)
_SENT = (
    "WITH done AS ("
    " UPDATE notify.deliveries SET status = 'sent', last_error = NULL, error_code = NULL,"
    " attempts = $3::integer, provider = $4::text, provider_message_id = $5::text, sent_at = now(),"
    " sent_template = $6::text, claim_token = NULL, lease_until = NULL, updated_at = now()"
    " WHERE id = $1::uuid AND claim_token = $2::uuid RETURNING id, tenant_id)"
    " INSERT INTO notify.delivery_attempts"
    " (id, delivery_id, tenant_id, attempt, outcome, http_status, error, duration_ms)"
    " SELECT $7::uuid, id, tenant_id, $3::integer, 'sent', $8::integer, $9::text, $10::integer FROM done"
    " RETURNING delivery_id"
)

# The sender's claims: due queued deliveries of every tenant (the worker serves all tenants, so these
# are not tenant-scoped), leased to a token; SKIP LOCKED lets replicas claim disjoint rows.
_DUE = "status = 'queued' AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())"
_LEASE = "claim_token = $2::uuid, lease_until = now() + make_interval(secs => $3::double precision)"
_CLAIM = (
    f"UPDATE notify.deliveries SET {_LEASE} WHERE id IN (SELECT id FROM notify.deliveries WHERE {_DUE}"
    " ORDER BY next_attempt_at LIMIT $1::integer FOR UPDATE SKIP LOCKED)"
    f" RETURNING {_DELIVERY_COLUMNS}"
)
_CLAIM_ONE = (
    f"UPDATE notify.deliveries SET {_LEASE} WHERE id IN (SELECT id FROM notify.deliveries"
    f" WHERE id = $1::uuid AND {_DUE} FOR UPDATE SKIP LOCKED)"
    f" RETURNING {_DELIVERY_COLUMNS}"
)


def _insert_args(values: dict[str, Any], lease_to: uuid.UUID | None, lease_seconds: float) -> tuple[Any, ...]:
    """_INSERT_ONCE's parameters, in order."""
    return (
        uuid.uuid4(), values.get("tenant_id"), values.get("message_id"), values.get("channel_id"),
        values.get("recipient"), values.get("text"), values.get("window_open"), values.get("template_name"),
        values.get("template_language"), orjson.dumps(values.get("template_params") or []).decode(),
        values.get("source"), values.get("traceparent"), lease_to, float(lease_seconds),
    )  # fmt: skip


def _delivery(record: asyncpg.Record) -> Delivery:
    return Delivery(**record)


class SendPathRepository:
    """The send path's statements on a pooled connection outside any transaction (no ORM session): each
    one commits alone. The deliveries it returns belong to no session."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def insert_once(
        self, values: dict[str, Any], lease_to: uuid.UUID | None = None, lease_seconds: float = 0.0
    ) -> Delivery | None:
        """The new delivery, or None when this message id is already queued. With `lease_to` the new
        delivery is born claimed by that token (for `lease_seconds`)."""
        args = _insert_args(values, lease_to, lease_seconds)
        rows = await db.driver_fetch(self.connection, _INSERT_ONCE, *args)
        return _delivery(rows[0]) if rows else None

    async def by_message_id(self, tenant_id: uuid.UUID, message_id: uuid.UUID) -> Delivery:
        [row] = await db.driver_fetch(self.connection, _BY_MESSAGE_ID, tenant_id, message_id)
        return _delivery(row)

    async def record_sent(
        self, delivery_id: uuid.UUID, token: uuid.UUID, attempt: dict[str, Any], sent: dict[str, Any]
    ) -> bool:
        """finish() and add_attempt() of a successful send in one statement; False if the claim was lost."""
        rows = await db.driver_fetch(
            self.connection, _SENT, delivery_id, token, attempt["attempt"], sent["provider"],
            sent["provider_message_id"], sent["sent_template"], uuid.uuid4(), attempt["http_status"],
            attempt["error"], attempt["duration_ms"],
        )  # fmt: skip
        return bool(rows)

    async def claim(self, limit: int, lease_seconds: float, token: uuid.UUID) -> list[Delivery]:
        """Up to `limit` due deliveries of any tenant, oldest due first, leased to `token`."""
        rows = await db.driver_fetch(self.connection, _CLAIM, limit, token, float(lease_seconds))
        return [_delivery(row) for row in rows]

    async def claim_one(
        self, delivery_id: uuid.UUID, lease_seconds: float, token: uuid.UUID
    ) -> Delivery | None:
        """This delivery leased to `token`, if it is due and nobody holds it."""
        rows = await db.driver_fetch(self.connection, _CLAIM_ONE, delivery_id, token, float(lease_seconds))
        return _delivery(rows[0]) if rows else None


class DeliveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_once(
        self, values: dict[str, Any], lease_to: uuid.UUID | None = None, lease_seconds: float = 0.0
    ) -> Delivery | None:
        """SendPathRepository.insert_once inside this session's transaction."""
        connection = await self.session.connection()
        args = _insert_args(values, lease_to, lease_seconds)
        result = await connection.exec_driver_sql(_INSERT_ONCE, args)
        row = result.one_or_none()
        return None if row is None else Delivery(**row._mapping)

    async def by_message_id(self, tenant_id: uuid.UUID, message_id: uuid.UUID) -> Delivery:
        query = select(Delivery).where(Delivery.tenant_id == tenant_id, Delivery.message_id == message_id)
        return (await self.session.execute(query)).scalar_one()

    async def get(
        self, tenant_id: uuid.UUID, delivery_id: uuid.UUID, *, lock: bool = False
    ) -> Delivery | None:
        query = select(Delivery).where(Delivery.tenant_id == tenant_id, Delivery.id == delivery_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def finish(
        self, delivery_id: uuid.UUID, token: uuid.UUID, values: dict[str, Any]
    ) -> Delivery | None:
        """Records an attempt's outcome and releases the claim; None if the claim was lost meanwhile."""
        stmt = (
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.claim_token == token)
            .values(claim_token=None, lease_until=None, updated_at=func.now(), **values)
            .returning(Delivery)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add_attempt(self, values: dict[str, Any]) -> None:
        await self.session.execute(insert(DeliveryAttempt).values(id=uuid.uuid4(), **values))

    async def page(
        self,
        tenant_id: uuid.UUID,
        *,
        statuses: tuple[str, ...],
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
        message_id: uuid.UUID | None = None,
    ) -> list[Delivery]:
        """Newest first by (updated_at, id), keyset-paginated."""
        query = select(Delivery).where(Delivery.tenant_id == tenant_id)
        if statuses:
            query = query.where(Delivery.status.in_(statuses))
        if message_id is not None:
            query = query.where(Delivery.message_id == message_id)
        if after is not None:
            at, last = after
            query = query.where(
                or_(Delivery.updated_at < at, and_(Delivery.updated_at == at, Delivery.id < last))
            )
        query = query.order_by(Delivery.updated_at.desc(), Delivery.id.desc()).limit(limit)
        return list((await self.session.execute(query)).scalars())

    async def requeue(self, tenant_id: uuid.UUID, delivery_id: uuid.UUID) -> Delivery | None:
        stmt = (
            update(Delivery)
            .where(
                Delivery.tenant_id == tenant_id,
                Delivery.id == delivery_id,
                Delivery.status.in_(("dead", "failed")),
            )
            .values(
                status="queued",
                attempts=0,
                next_attempt_at=func.now(),
                last_error=None,
                error_code=None,
                claim_token=None,
                lease_until=None,
                updated_at=func.now(),
            )
            .returning(Delivery)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_provider_id(
        self, tenant_id: uuid.UUID, provider: str, provider_message_id: str
    ) -> Delivery | None:
        query = (
            select(Delivery)
            .where(
                Delivery.tenant_id == tenant_id,
                Delivery.provider == provider,
                Delivery.provider_message_id == provider_message_id,
            )
            .with_for_update()
        )
        return (await self.session.execute(query)).scalars().first()

    async def add_status_event(self, values: dict[str, Any]) -> bool:
        stmt = (
            insert(StatusEvent)
            .values(id=uuid.uuid4(), **values)
            .on_conflict_do_nothing(index_elements=["delivery_id", "status"])
            .returning(StatusEvent.id)
        )
        return (await self.session.execute(stmt)).one_or_none() is not None

    async def set_status(self, delivery: Delivery, values: dict[str, Any]) -> None:
        stmt = (
            update(Delivery)
            .where(Delivery.tenant_id == delivery.tenant_id, Delivery.id == delivery.id)
            .values(updated_at=func.now(), **values)
        )
        await self.session.execute(stmt)


class PushRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(self, values: dict[str, Any]) -> PushSubscription:
        changing = {k: values[k] for k in ("tenant_id", "user_id", "p256dh", "auth")}
        stmt = (
            insert(PushSubscription)
            .values(id=uuid.uuid4(), **values)
            .on_conflict_do_update(constraint="uq_push_subscriptions_endpoint", set_=changing)
            .returning(PushSubscription)
        )
        return (await self.session.execute(stmt)).scalar_one()

    async def delete(self, tenant_id: uuid.UUID, user_id: uuid.UUID, endpoint: str) -> bool:
        stmt = delete(PushSubscription).where(
            PushSubscription.tenant_id == tenant_id,
            PushSubscription.user_id == user_id,
            PushSubscription.endpoint == endpoint,
        )
        return bool((await self.session.execute(stmt)).rowcount)  # type: ignore[attr-defined]

    async def delete_ids(self, tenant_id: uuid.UUID, ids: list[uuid.UUID]) -> None:
        stmt = delete(PushSubscription).where(
            PushSubscription.tenant_id == tenant_id, PushSubscription.id.in_(ids)
        )
        await self.session.execute(stmt)

    async def for_user(self, tenant_id: uuid.UUID, user_id: uuid.UUID) -> list[PushSubscription]:
        query = select(PushSubscription).where(
            PushSubscription.tenant_id == tenant_id, PushSubscription.user_id == user_id
        )
        return list((await self.session.execute(query)).scalars())

    async def touch(self, tenant_id: uuid.UUID, ids: list[uuid.UUID]) -> None:
        stmt = (
            update(PushSubscription)
            .where(PushSubscription.tenant_id == tenant_id, PushSubscription.id.in_(ids))
            .values(last_success_at=func.now())
        )
        await self.session.execute(stmt)

    async def first_notification(
        self, tenant_id: uuid.UUID, user_id: uuid.UUID, notification_id: str
    ) -> bool:
        """True the first time this (user, notification id) is seen."""
        stmt = (
            insert(UserNotification)
            .values(id=uuid.uuid4(), tenant_id=tenant_id, user_id=user_id, notification_id=notification_id)
            .on_conflict_do_nothing(constraint="uq_user_notifications_key")
            .returning(UserNotification.id)
        )
        return (await self.session.execute(stmt)).one_or_none() is not None
