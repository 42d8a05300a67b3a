"""The only module of the tenant service that builds SQL."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from kit import db
from tenant.models import AuditEntry, LoginFailure, Niche, RefreshToken, Tenant, User


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

    async def niches(self) -> list[Niche]:
        return list((await self.session.execute(select(Niche).order_by(Niche.id))).scalars())

    async def page(self, limit: int, offset: int) -> tuple[list[Tenant], int]:
        query = select(Tenant).order_by(Tenant.created_at, Tenant.id).limit(limit).offset(offset)
        return list((await self.session.execute(query)).scalars()), await self.count()

    async def get_for_update(self, tenant_id: uuid.UUID) -> Tenant | None:
        return await self.session.get(Tenant, tenant_id, with_for_update=True)


class RoutedChannel(NamedTuple):
    """The webhook-routing columns of a channel (the fields models.Channel encodes)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    provider: str
    external_id: str
    phone_number: str
    active: bool


class RoutedTenant(NamedTuple):
    """The tenant columns ResolveChannel answers with (the fields models.Tenant encodes)."""

    id: uuid.UUID
    name: str
    slug: str
    niche_id: int
    status: str
    leads_per_day_soft: int
    leads_per_day_hard: int
    messages_per_minute_soft: int
    messages_per_minute_hard: int
    created_at: datetime
    updated_at: datetime


class ChannelRoute(NamedTuple):
    channel: RoutedChannel
    tenant: RoutedTenant
    secrets_encrypted: str | None


# ResolveChannel runs on every webhook the gateway's cache misses, so it skips the ORM and even
# SQLAlchemy's statement execution (half this read's CPU): one constant SQL text that asyncpg keeps
# prepared per connection, sent as one bind/execute round trip outside any transaction. The channel
# is joined to its own tenant, so an answer never pairs one tenant's channel with another tenant.
_ROUTE = """
SELECT c.id, c.tenant_id, c.provider, c.external_id, c.phone_number, c.active,
       t.id, t.name, t.slug, t.niche_id, t.status, t.leads_per_day_soft, t.leads_per_day_hard,
       t.messages_per_minute_soft, t.messages_per_minute_hard, t.created_at, t.updated_at,
       c.secrets_encrypted
FROM tenant.channels AS c JOIN tenant.tenants AS t ON t.id = c.tenant_id
WHERE c.active AND c.provider = $1 AND """
ROUTE_BY_TOKEN_HASH = _ROUTE + "c.webhook_token_hash = $2"
ROUTE_BY_EXTERNAL_ID = _ROUTE + "c.external_id = $2"


_REPLY_DATA_CHANGES = """
SELECT d.epoch, d.everyone_at,
    array(SELECT c.tenant_id FROM tenant.reply_data_changes c WHERE c.epoch > $1 ORDER BY c.epoch LIMIT $2)
FROM tenant.reply_data_epoch d"""


class ChannelRouteRepository:
    """Reads for webhook routing on a pooled connection (no ORM session, no transaction)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def by_token_hash(self, provider: str, token_hash: str) -> ChannelRoute | None:
        return await self._one(ROUTE_BY_TOKEN_HASH, provider, token_hash)

    async def by_external_id(self, provider: str, external_id: str) -> ChannelRoute | None:
        return await self._one(ROUTE_BY_EXTERNAL_ID, provider, external_id)

    async def epochs(self) -> tuple[int, int]:
        """tenant.routing_epoch (migration 0004), which moves whenever an answer above may have
        changed, and tenant.reply_data_epoch (0005), for what the ai service caches."""
        rows = await db.driver_fetch(
            self.connection, "SELECT r.epoch, d.epoch FROM tenant.routing_epoch r, tenant.reply_data_epoch d"
        )
        return int(rows[0][0]), int(rows[0][1])

    async def reply_data_changes(self, since: int, limit: int) -> tuple[int, bool, list[uuid.UUID]]:
        """(reply-data epoch, everyone, tenants changed after `since`), read in one snapshot: the
        tenants are those of the changes up to that epoch (migration 0006). More than `limit` tenants,
        or a change that touched every tenant, is `everyone` with no list."""
        rows = await db.driver_fetch(self.connection, _REPLY_DATA_CHANGES, since, limit + 1)
        epoch, everyone_at, tenants = int(rows[0][0]), int(rows[0][1]), list(rows[0][2])
        if since <= 0 or since > epoch or everyone_at > since or len(tenants) > limit:
            return epoch, True, []
        return epoch, False, tenants

    async def _one(self, sql: str, provider: str, key: str) -> ChannelRoute | None:
        rows = await db.driver_fetch(self.connection, sql, provider, key)
        row = rows[0] if rows else None
        if row is None:
            return None
        values = tuple(row)
        return ChannelRoute(RoutedChannel(*values[:6]), RoutedTenant(*values[6:17]), values[17])


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(
        self, user_id: uuid.UUID, tenant_id: uuid.UUID | None, *, for_update: bool = False
    ) -> User | None:
        """`tenant_id` None only for the superadmin's and the login path's cross-tenant lookups."""
        query = select(User).where(User.id == user_id)
        if tenant_id is not None:
            query = query.where(User.tenant_id == tenant_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def by_email(self, email: str) -> User | None:
        query = select(User).where(func.lower(User.email) == email.lower())
        return (await self.session.execute(query)).scalar_one_or_none()

    async def add(self, user: User) -> bool:
        """False when the email is taken (the lower(email) unique index decides)."""
        try:
            async with self.session.begin_nested():
                self.session.add(user)
                await self.session.flush()
        except IntegrityError:
            return False
        return True

    async def page(self, tenant_id: uuid.UUID, limit: int, offset: int) -> tuple[list[User], int]:
        where = User.tenant_id == tenant_id
        query = select(User).where(where).order_by(User.created_at, User.id).limit(limit).offset(offset)
        total = (await self.session.execute(select(func.count()).select_from(User).where(where))).scalar_one()
        return list((await self.session.execute(query)).scalars()), int(total)

    async def lock_active_admins(self, tenant_id: uuid.UUID, roles: tuple[str, ...]) -> list[uuid.UUID]:
        """Ids of the tenant's active admins, row-locked so two demotions can't both pass the rule."""
        query = (
            select(User.id)
            .where(User.tenant_id == tenant_id, User.active.is_(True), User.role.in_(roles))
            .with_for_update()
        )
        return list((await self.session.execute(query)).scalars())


class RefreshTokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, token: RefreshToken) -> None:
        self.session.add(token)
        await self.session.flush()

    async def by_hash(self, token_hash: str) -> RefreshToken | None:
        query = select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def revoke_family(self, family_id: uuid.UUID, now: datetime) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def revoke_user(self, tenant_id: uuid.UUID, user_id: uuid.UUID, now: datetime) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(
                RefreshToken.tenant_id == tenant_id,
                RefreshToken.user_id == user_id,
                RefreshToken.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )


class LoginFailureRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def recent(self, email: str, source_ip: str, since: datetime) -> tuple[int, datetime | None]:
        """How many failures since `since`, and the oldest of them."""
        query = select(func.count(), func.min(LoginFailure.created_at)).where(
            LoginFailure.email == email, LoginFailure.source_ip == source_ip, LoginFailure.created_at >= since
        )
        count, oldest = (await self.session.execute(query)).one()
        return int(count), oldest

    async def add(self, email: str, source_ip: str) -> None:
        self.session.add(LoginFailure(email=email, source_ip=source_ip))
        await self.session.flush()

    async def clear(self, email: str, source_ip: str, older_than: datetime) -> None:
        """Forget this key's failures (after a success) and anyone's that left the window."""
        await self.session.execute(
            delete(LoginFailure).where(
                ((LoginFailure.email == email) & (LoginFailure.source_ip == source_ip))
                | (LoginFailure.created_at < older_than)
            )
        )


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, entry: AuditEntry) -> None:
        self.session.add(entry)
        await self.session.flush()

    async def page(self, tenant_id: uuid.UUID | None, limit: int, before_id: int) -> list[AuditEntry]:
        """Newest first; `tenant_id` None means every tenant (the superadmin's view)."""
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if tenant_id is not None:
            query = query.where(AuditEntry.tenant_id == tenant_id)
        if before_id > 0:
            query = query.where(AuditEntry.id < before_id)
        return list((await self.session.execute(query)).scalars())
