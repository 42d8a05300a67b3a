"""Use cases of the tenant context. They run inside the caller's transaction and never commit."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from tenant import domain, errors
from tenant.models import Channel, Tenant
from tenant.repository import ChannelRepository, TenantRepository

log = logging.getLogger(__name__)


def parse_id(value: str, what: str = "tenant_id") -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError):
        raise errors.InvalidArgument(f"{what} {value!r} is not a UUID") from None


async def create_tenant(
    session: AsyncSession,
    *,
    name: str,
    slug: str,
    niche_id: int,
    limits: domain.PlanLimits,
    soft_limit: int,
    hard_limit: int,
) -> Tenant:
    name = name.strip()
    if not name or len(name) > 200:
        raise errors.InvalidArgument("name must have 1 to 200 characters")
    if not domain.valid_slug(slug):
        raise errors.InvalidSlug(slug)
    problems = limits.problems()
    if problems:
        raise errors.InvalidArgument("; ".join(problems))
    tenants = TenantRepository(session)
    if await tenants.niche(niche_id) is None:
        raise errors.UnknownNiche(niche_id)
    await tenants.lock_creation()
    count = await tenants.count()
    if count >= hard_limit:
        raise errors.TenantLimitReached(hard_limit)
    tenant = Tenant(
        name=name,
        slug=slug,
        niche_id=niche_id,
        status="active",
        leads_per_day_soft=limits.leads_per_day_soft,
        leads_per_day_hard=limits.leads_per_day_hard,
        messages_per_minute_soft=limits.messages_per_minute_soft,
        messages_per_minute_hard=limits.messages_per_minute_hard,
    )
    if not await tenants.add(tenant):
        raise errors.SlugTaken(slug)
    if count + 1 > soft_limit:
        log.warning("tenant count %d is above the soft limit of %d", count + 1, soft_limit)
    return tenant


async def get_tenant(session: AsyncSession, tenant_id: str) -> Tenant:
    tenant = await TenantRepository(session).get(parse_id(tenant_id))
    if tenant is None:
        raise errors.TenantNotFound()
    return tenant


async def resolve_channel(
    session: AsyncSession, *, provider: str, external_id: str, webhook_token: str
) -> tuple[Channel, Tenant]:
    if provider not in domain.PROVIDERS:
        raise errors.InvalidArgument(f"provider must be one of {', '.join(domain.PROVIDERS)}")
    if not external_id and not webhook_token:
        raise errors.InvalidArgument("give external_id or webhook_token")
    channels = ChannelRepository(session)
    channel = None
    if webhook_token:
        channel = await channels.by_token_hash(domain.token_hash(webhook_token))
        if channel is not None and channel.provider != provider:
            channel = None
    elif external_id:
        channel = await channels.by_external_id(provider, external_id)
    if channel is None:
        raise errors.ChannelNotFound()
    tenant = await TenantRepository(session).get(channel.tenant_id)
    if tenant is None:
        raise errors.ChannelNotFound()
    return channel, tenant
