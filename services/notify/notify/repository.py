"""The only module of the notify service that builds SQL."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession

from notify.models import Delivery, DeliveryAttempt, PushSubscription, StatusEvent, UserNotification

# The send path's statements as SQL text: SQLAlchemy does not cache the compilation of PostgreSQL
# INSERT … ON CONFLICT, and compiling it on every message was most of SendMessage's CPU.
_INSERT_COLUMNS = (
    "id", "tenant_id", "message_id", "channel_id", "recipient", "text", "window_open", "template_name",
    "template_language", "template_params", "source", "traceparent", "claim_token",
)  # fmt: skip
_INSERT_ONCE = text(
    f"INSERT INTO notify.deliveries ({', '.join(_INSERT_COLUMNS)}, lease_until)"
    f" VALUES ({', '.join(':' + c for c in _INSERT_COLUMNS)},"
    # Leased at birth when the caller's sender sends it at once (no claim round trip); else NULL.
    " CASE WHEN CAST(:claim_token AS uuid) IS NULL THEN NULL"
    " ELSE now() + make_interval(secs => :lease) END)"
    " ON CONFLICT (tenant_id, message_id) DO NOTHING"
    f" RETURNING {', '.join(c.name for c in Delivery.__table__.columns)}"
).bindparams(bindparam("template_params", type_=JSONB))
_SENT = text(
    "WITH done AS ("
    " UPDATE notify.deliveries SET status = 'sent', last_error = NULL, error_code = NULL,"
    " attempts = :attempt, provider = :provider, provider_message_id = :provider_message_id,"
    " sent_at = now(), sent_template = :sent_template, claim_token = NULL, lease_until = NULL,"
    " updated_at = now()"
    " WHERE id = :delivery_id AND claim_token = :token RETURNING id, tenant_id)"
    " INSERT INTO notify.delivery_attempts"
    " (id, delivery_id, tenant_id, attempt, outcome, http_status, error, duration_ms)"
    " SELECT :attempt_id, id, tenant_id, :attempt, 'sent', :http_status, :error, :duration_ms FROM done"
    " RETURNING delivery_id"
)


class DeliveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_once(
        self, values: dict[str, Any], lease_to: uuid.UUID | None = None, lease_seconds: float = 0.0
    ) -> Delivery | None:
        """The new delivery (detached), or None when this message id is already queued. With
        `lease_to` the new delivery is born claimed by that token (for `lease_seconds`)."""
        params = {c: values.get(c) for c in _INSERT_COLUMNS}
        params |= {"id": uuid.uuid4(), "claim_token": lease_to, "lease": float(lease_seconds)}
        params["template_params"] = values.get("template_params") or []
        row = (await self.session.execute(_INSERT_ONCE, params)).one_or_none()
        return None if row is None else Delivery(**row._mapping)

    async def record_sent(
        self, delivery_id: uuid.UUID, token: uuid.UUID, attempt: dict[str, Any], sent: dict[str, Any]
    ) -> bool:
        """finish() and add_attempt() of a successful send in one statement; False if the claim was lost."""
        params = {
            "delivery_id": delivery_id, "token": token, "attempt_id": uuid.uuid4(),
            "attempt": attempt["attempt"], "http_status": attempt["http_status"], "error": attempt["error"],
            "duration_ms": attempt["duration_ms"], "provider": sent["provider"],
            "provider_message_id": sent["provider_message_id"], "sent_template": sent["sent_template"],
        }  # fmt: skip
        return (await self.session.execute(_SENT, params)).scalar_one_or_none() is not None

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

    async def claim(
        self, limit: int, lease_seconds: float, token: uuid.UUID, only: uuid.UUID | None = None
    ) -> list[Delivery]:
        """Due queued deliveries of every tenant, leased to `token`. The worker serves all tenants, so
        this one query is not tenant-scoped; SKIP LOCKED lets replicas claim disjoint rows."""
        due = [
            Delivery.status == "queued",
            Delivery.next_attempt_at <= func.now(),
            or_(Delivery.lease_until.is_(None), Delivery.lease_until < func.now()),
        ]
        if only is not None:
            due.append(Delivery.id == only)
        picked = (
            select(Delivery.id)
            .where(*due)
            .order_by(Delivery.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        lease = func.now() + text(f"interval '{float(lease_seconds)} seconds'")
        stmt = (
            update(Delivery)
            .where(Delivery.id.in_(picked.scalar_subquery()))
            .values(claim_token=token, lease_until=lease)
            .returning(Delivery)
        )
        return list((await self.session.execute(stmt)).scalars())

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
