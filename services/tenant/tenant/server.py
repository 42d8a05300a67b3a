"""TenantServicer: decode → one use case in one transaction → encode."""

from __future__ import annotations

import json

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from kit import db, dbstats, rpc
from kit.timestamps import timestamp_or_empty
from tenant import authz, domain, service, settings_service
from tenant.config import Settings
from tenant.models import Channel, Niche, Tenant
from tenant.repository import RoutedChannel, RoutedTenant
from tenant.rpc_catalog import CatalogRpcs
from tenant.rpc_identity import IdentityRpcs
from tenant.rpc_places import PlacesRpcs
from tenant.rpc_sellers import SellerRpcs
from vellarys.tenant.v1 import tenant_pb2 as pb
from vellarys.tenant.v1 import tenant_pb2_grpc as pb_grpc

PROVIDER_TO_PB = {
    "zapi": pb.PROVIDER_ZAPI,
    "dialog360": pb.PROVIDER_DIALOG360,
    "gupshup": pb.PROVIDER_GUPSHUP,
    "meta": pb.PROVIDER_META,
}
PB_TO_PROVIDER = {v: k for k, v in PROVIDER_TO_PB.items()}
STATUS_TO_PB = {"active": pb.TENANT_STATUS_ACTIVE, "suspended": pb.TENANT_STATUS_SUSPENDED}


def encode_tenant(tenant: Tenant | RoutedTenant) -> pb.Tenant:
    return pb.Tenant(
        id=str(tenant.id),
        name=tenant.name,
        slug=tenant.slug,
        niche_id=tenant.niche_id,
        status=STATUS_TO_PB.get(tenant.status, pb.TENANT_STATUS_UNSPECIFIED),
        limits=pb.PlanLimits(
            leads_per_day_soft=tenant.leads_per_day_soft,
            leads_per_day_hard=tenant.leads_per_day_hard,
            messages_per_minute_soft=tenant.messages_per_minute_soft,
            messages_per_minute_hard=tenant.messages_per_minute_hard,
        ),
        created_at=timestamp_or_empty(tenant.created_at),
        updated_at=timestamp_or_empty(tenant.updated_at),
    )


def encode_channel(channel: Channel | RoutedChannel) -> pb.Channel:
    return pb.Channel(
        id=str(channel.id),
        tenant_id=str(channel.tenant_id),
        provider=PROVIDER_TO_PB[channel.provider],
        external_id=channel.external_id,
        phone_number=channel.phone_number,
        active=channel.active,
    )


def encode_niche(niche: Niche) -> pb.Niche:
    return pb.Niche(
        id=niche.id,
        slug=niche.slug,
        name=niche.name,
        prompt_template=niche.prompt_template,
        qualification_fields_json=json.dumps(niche.qualification_fields, ensure_ascii=False),
    )


def decode_limits(limits: pb.PlanLimits, defaults: domain.PlanLimits | None = None) -> domain.PlanLimits:
    """Zero fields take `defaults` (the plan's for a new tenant, the current values for an update)."""
    defaults = defaults or domain.PlanLimits()
    return domain.PlanLimits(
        leads_per_day_soft=limits.leads_per_day_soft or defaults.leads_per_day_soft,
        leads_per_day_hard=limits.leads_per_day_hard or defaults.leads_per_day_hard,
        messages_per_minute_soft=limits.messages_per_minute_soft or defaults.messages_per_minute_soft,
        messages_per_minute_hard=limits.messages_per_minute_hard or defaults.messages_per_minute_hard,
    )


def current_limits(tenant: Tenant) -> domain.PlanLimits:
    return domain.PlanLimits(**{f: getattr(tenant, f) for f in service.LIMIT_FIELDS})


class TenantServicer(IdentityRpcs, CatalogRpcs, SellerRpcs, PlacesRpcs, pb_grpc.TenantServiceServicer):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        engine: AsyncEngine | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        # For single-statement reads that need no session (tenant.repository.ChannelRouteRepository).
        self.engine: AsyncEngine = engine or sessions.kw["bind"]

    async def CreateTenant(
        self, request: pb.CreateTenantRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateTenantResponse:
        authz.require({authz.SUPERADMIN})
        async with self.sessions.begin() as session:
            tenant, warnings = await service.create_tenant(
                session,
                name=request.name,
                slug=request.slug,
                niche_id=request.niche_id,
                limits=decode_limits(request.limits),
                soft_limit=self.settings.tenants_soft_limit,
                hard_limit=self.settings.tenants_hard_limit,
                source_ip=request.source_ip,
            )
            return pb.CreateTenantResponse(tenant=encode_tenant(tenant), warnings=warnings)

    async def GetTenant(
        self, request: pb.GetTenantRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetTenantResponse:
        authz.require(authz.ANY_USER, allow_system=True)
        scope = authz.object_scope()
        async with self.sessions.begin() as session:
            tenant = await service.get_tenant(session, request.tenant_id)
            if scope is not None and tenant.id != scope:
                raise authz.OutOfScope()
            return pb.GetTenantResponse(tenant=encode_tenant(tenant))

    async def ListTenants(
        self, request: pb.ListTenantsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListTenantsResponse:
        authz.require({authz.SUPERADMIN})
        async with self.sessions.begin() as session:
            tenants, total = await service.list_tenants(session, request.limit, request.offset)
            return pb.ListTenantsResponse(tenants=[encode_tenant(t) for t in tenants], total=total)

    async def UpdateTenant(
        self, request: pb.UpdateTenantRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateTenantResponse:
        authz.require({authz.SUPERADMIN})
        async with self.sessions.begin() as session:
            limits = None
            if request.HasField("limits"):
                current = await service.get_tenant(session, request.tenant_id)
                limits = decode_limits(request.limits, current_limits(current))
            changes = service.TenantChanges(
                name=request.name if request.HasField("name") else None,
                niche_id=request.niche_id if request.HasField("niche_id") else None,
                limits=limits,
            )
            tenant = await service.update_tenant(
                session, request.tenant_id, changes, source_ip=request.source_ip
            )
            return pb.UpdateTenantResponse(tenant=encode_tenant(tenant))

    async def SuspendTenant(
        self, request: pb.SuspendTenantRequest, context: grpc.aio.ServicerContext
    ) -> pb.SuspendTenantResponse:
        ctx = authz.require({authz.SUPERADMIN})
        async with self.sessions.begin() as session:
            tenant = await service.set_tenant_status(
                session,
                request.tenant_id,
                "suspended",
                own_tenant=authz.parse(ctx.tenant_id),
                source_ip=request.source_ip,
            )
            return pb.SuspendTenantResponse(tenant=encode_tenant(tenant))

    async def ReactivateTenant(
        self, request: pb.ReactivateTenantRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReactivateTenantResponse:
        authz.require({authz.SUPERADMIN})
        async with self.sessions.begin() as session:
            tenant = await service.set_tenant_status(
                session, request.tenant_id, "active", own_tenant=None, source_ip=request.source_ip
            )
            return pb.ReactivateTenantResponse(tenant=encode_tenant(tenant))

    async def ListNiches(
        self, request: pb.ListNichesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListNichesResponse:
        authz.require(authz.ANY_USER, allow_system=True)
        async with self.sessions.begin() as session:
            niches = await service.list_niches(session)
            return pb.ListNichesResponse(niches=[encode_niche(n) for n in niches])

    async def ResolveChannel(
        self, request: pb.ResolveChannelRequest, context: grpc.aio.ServicerContext
    ) -> pb.ResolveChannelResponse:
        """Webhook routing, on every gateway cache miss: one round trip, one decryption."""
        async with self.engine.connect() as connection:
            route = await service.resolve_channel(
                connection,
                provider=PB_TO_PROVIDER.get(request.provider, ""),
                external_id=request.external_id,
                webhook_token=request.webhook_token,
            )
        return pb.ResolveChannelResponse(
            channel=encode_channel(route.channel),
            tenant=encode_tenant(route.tenant),
            verification=settings_service.verification_secrets(self.box, route.secrets_encrypted),
        )

    async def GetRoutingEpoch(
        self, request: pb.GetRoutingEpochRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetRoutingEpochResponse:
        """Polled every second by each gateway and each ai process: one single-row read."""
        async with self.engine.connect() as connection:
            routing, reply_data = await service.epochs(connection)
        return pb.GetRoutingEpochResponse(epoch=routing, reply_data_epoch=reply_data)

    async def GetReplyDataChanges(
        self, request: pb.GetReplyDataChangesRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetReplyDataChangesResponse:
        """Polled every second by each ai process, when the epoch moved: one read. It names tenants
        across the platform, so no user role may ask, only a system call."""
        authz.require(frozenset(), allow_system=True)
        async with self.engine.connect() as connection:
            epoch, everyone, tenants = await service.reply_data_changes(connection, request.since_epoch)
        return pb.GetReplyDataChangesResponse(
            reply_data_epoch=epoch, everyone=everyone, tenant_ids=[str(t) for t in tenants]
        )


def build(settings: Settings, engine: AsyncEngine, port: int | None = None) -> rpc.Server:
    sessions = db.session_factory(engine)
    servicer = TenantServicer(sessions, settings, engine)
    return rpc.build_server(
        lambda server: pb_grpc.add_TenantServiceServicer_to_server(servicer, server),
        [pb.DESCRIPTOR.services_by_name["TenantService"].full_name],
        host=settings.tenant_host,
        port=settings.tenant_port if port is None else port,
        readiness=lambda: db.ping(engine),
    )


async def serve(settings: Settings) -> None:
    engine = db.service_engine(settings, "tenant", settings.tenant_database_url)
    server = build(settings, engine)
    stats = dbstats.watch(engine, "tenant", settings)

    async def stop() -> None:
        await stats.stop()
        await engine.dispose()

    await rpc.serve_until_signalled(server, settings.grpc_grace_seconds, on_stop=stop)
