"""TenantServicer: decode → one use case in one transaction → encode."""

from __future__ import annotations

from datetime import datetime

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from vellarys.tenant.v1 import tenant_pb2 as pb
from vellarys.tenant.v1 import tenant_pb2_grpc as pb_grpc

from kit import db, rpc
from tenant import domain, service
from tenant.config import Settings
from tenant.models import Channel, Tenant

PROVIDER_TO_PB = {
    "zapi": pb.PROVIDER_ZAPI,
    "dialog360": pb.PROVIDER_DIALOG360,
    "gupshup": pb.PROVIDER_GUPSHUP,
    "meta": pb.PROVIDER_META,
}
PB_TO_PROVIDER = {v: k for k, v in PROVIDER_TO_PB.items()}
STATUS_TO_PB = {"active": pb.TENANT_STATUS_ACTIVE, "suspended": pb.TENANT_STATUS_SUSPENDED}


def timestamp(value: datetime | None) -> Timestamp:
    ts = Timestamp()
    if value is not None:
        ts.FromDatetime(value)
    return ts


def encode_tenant(tenant: Tenant) -> pb.Tenant:
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
        created_at=timestamp(tenant.created_at),
        updated_at=timestamp(tenant.updated_at),
    )


def encode_channel(channel: Channel) -> pb.Channel:
    return pb.Channel(
        id=str(channel.id),
        tenant_id=str(channel.tenant_id),
        provider=PROVIDER_TO_PB[channel.provider],
        external_id=channel.external_id,
        phone_number=channel.phone_number,
        active=channel.active,
    )


def decode_limits(limits: pb.PlanLimits) -> domain.PlanLimits:
    defaults = domain.PlanLimits()
    return domain.PlanLimits(
        leads_per_day_soft=limits.leads_per_day_soft or defaults.leads_per_day_soft,
        leads_per_day_hard=limits.leads_per_day_hard or defaults.leads_per_day_hard,
        messages_per_minute_soft=limits.messages_per_minute_soft or defaults.messages_per_minute_soft,
        messages_per_minute_hard=limits.messages_per_minute_hard or defaults.messages_per_minute_hard,
    )


class TenantServicer(pb_grpc.TenantServiceServicer):
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings

    async def CreateTenant(
        self, request: pb.CreateTenantRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateTenantResponse:
        async with self.sessions.begin() as session:
            tenant = await service.create_tenant(
                session,
                name=request.name,
                slug=request.slug,
                niche_id=request.niche_id,
                limits=decode_limits(request.limits),
                soft_limit=self.settings.tenants_soft_limit,
                hard_limit=self.settings.tenants_hard_limit,
            )
            return pb.CreateTenantResponse(tenant=encode_tenant(tenant))

    async def GetTenant(
        self, request: pb.GetTenantRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetTenantResponse:
        async with self.sessions.begin() as session:
            tenant = await service.get_tenant(session, request.tenant_id)
            return pb.GetTenantResponse(tenant=encode_tenant(tenant))

    async def ResolveChannel(
        self, request: pb.ResolveChannelRequest, context: grpc.aio.ServicerContext
    ) -> pb.ResolveChannelResponse:
        async with self.sessions.begin() as session:
            channel, tenant = await service.resolve_channel(
                session,
                provider=PB_TO_PROVIDER.get(request.provider, ""),
                external_id=request.external_id,
                webhook_token=request.webhook_token,
            )
            return pb.ResolveChannelResponse(channel=encode_channel(channel), tenant=encode_tenant(tenant))


def build(settings: Settings, engine: AsyncEngine, port: int | None = None) -> rpc.Server:
    sessions = db.session_factory(engine)
    servicer = TenantServicer(sessions, settings)
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
    await rpc.serve_until_signalled(server, settings.grpc_grace_seconds, on_stop=engine.dispose)
