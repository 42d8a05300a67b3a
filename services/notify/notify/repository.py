"""The only module of the notify service that builds SQL."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notify.models import Delivery


class DeliveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_once(self, values: dict[str, Any]) -> tuple[uuid.UUID, str] | None:
        """(id, status) of the new delivery, or None when this message id is already queued."""
        stmt = (
            insert(Delivery)
            .values(id=uuid.uuid4(), **values)
            .on_conflict_do_nothing(index_elements=["tenant_id", "message_id"])
            .returning(Delivery.id, Delivery.status)
        )
        row = (await self.session.execute(stmt)).one_or_none()
        return None if row is None else (row.id, row.status)

    async def by_message_id(self, tenant_id: uuid.UUID, message_id: uuid.UUID) -> tuple[uuid.UUID, str]:
        query = select(Delivery.id, Delivery.status).where(
            Delivery.tenant_id == tenant_id, Delivery.message_id == message_id
        )
        row = (await self.session.execute(query)).one()
        return row.id, row.status
