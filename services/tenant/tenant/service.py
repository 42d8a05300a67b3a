"""Use cases of the tenant context. They run inside the caller's transaction and never commit."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from tenant import audit, domain, errors
from tenant.models import Niche, Tenant
from tenant.repository import ChannelRoute, ChannelRouteRepository, TenantRepository

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
    source_ip: str = "",
) -> tuple[Tenant, list[str]]:
    """The new tenant and warnings (above the soft tenant limit: logged, audited, returned)."""
    name = _check_name(name)
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
    details: dict[str, object] = {"name": name, "slug": slug, "niche_id": niche_id}
    await audit.record(
        session,
        "tenant.create",
        tenant_id=tenant.id,
        target_type="tenant",
        target_id=tenant.id,
        details=details,
        source_ip=source_ip,
    )
    warnings = []
    if count + 1 > soft_limit:
        warnings.append(
            f"{count + 1} tenants exceed the soft limit of {soft_limit} (hard limit {hard_limit})"
        )
        log.warning("tenant count %d is above the soft limit of %d", count + 1, soft_limit)
        await audit.record(
            session,
            "tenant.soft_limit_exceeded",
            tenant_id=tenant.id,
            target_type="tenant",
            target_id=tenant.id,
            details={"count": count + 1, "soft_limit": soft_limit},
            source_ip=source_ip,
        )
    return tenant, warnings


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise errors.InvalidArgument("name must have 1 to 200 characters")
    return name


@dataclass(frozen=True)
class TenantChanges:
    name: str | None = None
    niche_id: int | None = None
    limits: domain.PlanLimits | None = None


LIMIT_FIELDS = (
    "leads_per_day_soft",
    "leads_per_day_hard",
    "messages_per_minute_soft",
    "messages_per_minute_hard",
)


async def list_tenants(session: AsyncSession, limit: int, offset: int) -> tuple[list[Tenant], int]:
    return await TenantRepository(session).page(max(1, min(limit or 50, 200)), max(offset, 0))


async def list_niches(session: AsyncSession) -> list[Niche]:
    return await TenantRepository(session).niches()


async def update_tenant(
    session: AsyncSession, tenant_id: str, changes: TenantChanges, *, source_ip: str = ""
) -> Tenant:
    tenants = TenantRepository(session)
    tenant = await tenants.get_for_update(parse_id(tenant_id))
    if tenant is None:
        raise errors.TenantNotFound()
    fields: dict[str, object] = {}
    if changes.name is not None:
        fields["name"] = _check_name(changes.name)
    if changes.niche_id is not None:
        if await tenants.niche(changes.niche_id) is None:
            raise errors.UnknownNiche(changes.niche_id)
        fields["niche_id"] = changes.niche_id
    if changes.limits is not None:
        problems = changes.limits.problems()
        if problems:
            raise errors.InvalidArgument("; ".join(problems))
        fields.update({f: getattr(changes.limits, f) for f in LIMIT_FIELDS})
    diff = {k: v for k, v in fields.items() if getattr(tenant, k) != v}
    for key, value in diff.items():
        setattr(tenant, key, value)
    if diff:
        await session.flush()
        await audit.record(
            session,
            "tenant.update",
            tenant_id=tenant.id,
            target_type="tenant",
            target_id=tenant.id,
            details=diff,
            source_ip=source_ip,
        )
    return tenant


async def set_tenant_status(
    session: AsyncSession, tenant_id: str, status: str, *, own_tenant: uuid.UUID | None, source_ip: str = ""
) -> Tenant:
    """Suspend or reactivate. Suspension takes effect at the gateway's next principal check."""
    tenant = await TenantRepository(session).get_for_update(parse_id(tenant_id))
    if tenant is None:
        raise errors.TenantNotFound()
    if status == "suspended" and tenant.id == own_tenant:
        raise errors.OwnTenant()
    if tenant.status != status:
        tenant.status = status
        await session.flush()
        action = "tenant.suspend" if status == "suspended" else "tenant.reactivate"
        await audit.record(
            session,
            action,
            tenant_id=tenant.id,
            target_type="tenant",
            target_id=tenant.id,
            source_ip=source_ip,
        )
    return tenant


async def get_tenant(session: AsyncSession, tenant_id: str) -> Tenant:
    tenant = await TenantRepository(session).get(parse_id(tenant_id))
    if tenant is None:
        raise errors.TenantNotFound()
    return tenant


async def epochs(connection: AsyncConnection) -> tuple[int, int]:
    """(routing epoch, reply-data epoch)."""
    return await ChannelRouteRepository(connection).epochs()


# GetReplyDataChanges lists at most this many tenants; past it the answer is "everyone".
REPLY_DATA_CHANGES_MAX = 1_000


async def reply_data_changes(connection: AsyncConnection, since: int) -> tuple[int, bool, list[uuid.UUID]]:
    """(reply-data epoch, everyone, tenants whose reply data changed after `since`)."""
    return await ChannelRouteRepository(connection).reply_data_changes(since, REPLY_DATA_CHANGES_MAX)


async def resolve_channel(
    connection: AsyncConnection, *, provider: str, external_id: str, webhook_token: str
) -> ChannelRoute:
    """The active channel for a webhook, with its tenant, in one query.

    The token wins when both are given; a token of another provider, a revoked or unknown token or
    an inactive channel are all NOT_FOUND, like a channel whose tenant is gone.
    """
    if provider not in domain.PROVIDERS:
        raise errors.InvalidArgument(f"provider must be one of {', '.join(domain.PROVIDERS)}")
    if not external_id and not webhook_token:
        raise errors.InvalidArgument("give external_id or webhook_token")
    routes = ChannelRouteRepository(connection)
    if webhook_token:
        route = await routes.by_token_hash(provider, domain.token_hash(webhook_token))
    else:
        route = await routes.by_external_id(provider, external_id)
    if route is None:
        raise errors.ChannelNotFound()
    return route
