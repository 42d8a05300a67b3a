"""The only module of the tenant service that builds SQL."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tenant.models import Channel, Niche, Tenant


class TenantRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, tenant_id: uuid.UUID) -> Tenant | None:
        return await self.session.get(Tenant, tenant_id)

    async def by_slug(self, slug: str) -> Tenant | None:
        return (await self.session.execute(select(Tenant).where(Tenant.slug == slug))).scalar_one_or_none()

    async def lock_creation(self) -> None:
        """Serialise tenant creation so the hard limit holds under concurrent requests."""
        await self.session.execute(select(func.pg_advisory_xact_lock(0x7E4A47)))

    async def count(self) -> int:
        return int((await self.session.execute(select(func.count()).select_from(Tenant))).scalar_one())

    async def add(self, tenant: Tenant) -> bool:
        """False when the slug is taken (checked by the unique index, not by a racy read)."""
        try:
            async with self.session.begin_nested():
                self.session.add(tenant)
                await self.session.flush()
        except IntegrityError:
            return False
        return True

    async def niche(self, niche_id: int) -> Niche | None:
        return await self.session.get(Niche, niche_id)


class ChannelRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_external_id(self, provider: str, external_id: str) -> Channel | None:
        query = select(Channel).where(
            Channel.provider == provider, Channel.external_id == external_id, Channel.active.is_(True)
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def by_token_hash(self, token_hash: str) -> Channel | None:
        query = select(Channel).where(Channel.webhook_token_hash == token_hash, Channel.active.is_(True))
        return (await self.session.execute(query)).scalar_one_or_none()
