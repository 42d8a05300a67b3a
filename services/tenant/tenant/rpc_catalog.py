"""Settings and catalog RPCs, mixed into TenantServicer (which provides `sessions` and `settings`).

Every RPC re-checks the caller from the call context (tenant.authz): admins act on their own tenant,
the superadmin on any; another tenant's objects answer NOT_FOUND.
"""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import TypeAlias

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from kit import context as callctx
from kit.errors import PermissionDenied
from tenant import authz, catalog_service, settings_service
from tenant import codec_catalog as codec
from tenant.config import Settings
from tenant.crypto import SecretBox
from vellarys.tenant.v1 import tenant_pb2 as pb

Ctx: TypeAlias = grpc.aio.ServicerContext
READERS = authz.ANY_USER | {"service"}
SERVICE_ROLE = "service"


@lru_cache(maxsize=4)
def _box(secret_key: str) -> SecretBox:
    return SecretBox.from_settings(secret_key)


class CatalogRpcs:
    sessions: async_sessionmaker[AsyncSession]
    settings: Settings

    @property
    def box(self) -> SecretBox:
        return _box(self.settings.secret_key)

    # --- channels -------------------------------------------------------------------------

    async def ListChannels(self, request: pb.ListChannelsRequest, context: Ctx) -> pb.ListChannelsResponse:
        authz.require(authz.ADMINS)
        tenant_id = authz.tenant_scope(request.tenant_id)
        async with self.sessions.begin() as session:
            views = await settings_service.list_channels(session, self.box, tenant_id)
            return pb.ListChannelsResponse(channels=[codec.encode_channel(v) for v in views])

    async def CreateChannel(self, request: pb.CreateChannelRequest, context: Ctx) -> pb.CreateChannelResponse:
        authz.require(authz.ADMINS)
        tenant_id = authz.tenant_scope(request.tenant_id)
        async with self.sessions.begin() as session:
            view = await settings_service.create_channel(
                session,
                self.box,
                tenant_id,
                provider=codec.PB_TO_PROVIDER.get(request.provider, ""),
                name=request.name,
                external_id=request.external_id,
                phone_number=request.phone_number,
                secrets=dict(request.secrets),
            )
            return pb.CreateChannelResponse(channel=codec.encode_channel(view))

    async def GetChannel(self, request: pb.GetChannelRequest, context: Ctx) -> pb.GetChannelResponse:
        authz.require(authz.ADMINS)
        tenant_id = authz.tenant_scope(request.tenant_id)
        async with self.sessions.begin() as session:
            view = await settings_service.get_channel(session, self.box, tenant_id, request.channel_id)
            return pb.GetChannelResponse(channel=codec.encode_channel(view))

    async def UpdateChannel(self, request: pb.UpdateChannelRequest, context: Ctx) -> pb.UpdateChannelResponse:
        authz.require(authz.ADMINS)
        tenant_id = authz.tenant_scope(request.tenant_id)
        changes = {
            name: getattr(request, name)
            for name in ("name", "external_id", "phone_number", "active")
            if request.HasField(name)
        }
        async with self.sessions.begin() as session:
            view = await settings_service.update_channel(
                session, self.box, tenant_id, request.channel_id, changes, dict(request.secrets)
            )
            return pb.UpdateChannelResponse(channel=codec.encode_channel(view))

    async def DeleteChannel(self, request: pb.DeleteChannelRequest, context: Ctx) -> pb.DeleteChannelResponse:
        authz.require(authz.ADMINS)
        tenant_id = authz.tenant_scope(request.tenant_id)
        async with self.sessions.begin() as session:
            await settings_service.delete_channel(session, tenant_id, request.channel_id)
            return pb.DeleteChannelResponse()

    async def RotateChannelToken(
        self, request: pb.RotateChannelTokenRequest, context: Ctx
    ) -> pb.RotateChannelTokenResponse:
        authz.require(authz.ADMINS)
        tenant_id = authz.tenant_scope(request.tenant_id)
        async with self.sessions.begin() as session:
            view = await settings_service.rotate_token(session, self.box, tenant_id, request.channel_id)
            return pb.RotateChannelTokenResponse(channel=codec.encode_channel(view))

    async def GetChannelCredentials(
        self, request: pb.GetChannelCredentialsRequest, context: Ctx
    ) -> pb.GetChannelCredentialsResponse:
        # Decrypted secrets are for the notify service only: never for a dashboard user.
        if callctx.get().role != SERVICE_ROLE:
            raise PermissionDenied("only internal services may read channel credentials")
        async with self.sessions.begin() as session:
            view, secrets = await settings_service.channel_credentials(session, self.box, request.channel_id)
            return pb.GetChannelCredentialsResponse(channel=codec.encode_channel(view), secrets=secrets)

    # --- AI settings ----------------------------------------------------------------------

    async def GetAiSettings(self, request: pb.GetAiSettingsRequest, context: Ctx) -> pb.GetAiSettingsResponse:
        authz.require(authz.ADMINS | {SERVICE_ROLE}, allow_system=True)
        tenant_id = authz.tenant_scope(request.tenant_id)
        async with self.sessions.begin() as session:
            current = await settings_service.current_ai_settings(session, tenant_id)
            return pb.GetAiSettingsResponse(current=codec.encode_version(current))

    async def UpdateAiSettings(
        self, request: pb.UpdateAiSettingsRequest, context: Ctx
    ) -> pb.UpdateAiSettingsResponse:
        authz.require(authz.ADMINS)
        tenant_id = authz.tenant_scope(request.tenant_id)
        values = codec.decode_ai_settings(request.settings)
        async with self.sessions.begin() as session:
            current = await settings_service.update_ai_settings(
                session, tenant_id, values, list(request.fields), request.actor_email
            )
            return pb.UpdateAiSettingsResponse(current=codec.encode_version(current))

    async def ListAiSettingsVersions(
        self, request: pb.ListAiSettingsVersionsRequest, context: Ctx
    ) -> pb.ListAiSettingsVersionsResponse:
        authz.require(authz.ADMINS)
        tenant_id = authz.tenant_scope(request.tenant_id)
        async with self.sessions.begin() as session:
            versions = await settings_service.list_ai_versions(
                session, tenant_id, request.page_size, request.before_version
            )
            return pb.ListAiSettingsVersionsResponse(versions=[codec.encode_version(v) for v in versions])

    async def GetAiSettingsVersion(
        self, request: pb.GetAiSettingsVersionRequest, context: Ctx
    ) -> pb.GetAiSettingsVersionResponse:
        authz.require(authz.ADMINS)
        tenant_id = authz.tenant_scope(request.tenant_id)
        async with self.sessions.begin() as session:
            version = await settings_service.get_ai_version(session, tenant_id, request.version)
            return pb.GetAiSettingsVersionResponse(version=codec.encode_version(version))

    async def DiffAiSettings(
        self, request: pb.DiffAiSettingsRequest, context: Ctx
    ) -> pb.DiffAiSettingsResponse:
        authz.require(authz.ADMINS)
        tenant_id = authz.tenant_scope(request.tenant_id)
        async with self.sessions.begin() as session:
            changes = await settings_service.diff_ai_versions(
                session, tenant_id, request.from_version, request.to_version
            )
            return pb.DiffAiSettingsResponse(
                changes=[pb.AiSettingsChange(field=f, from_value=a, to_value=b) for f, a, b in changes]
            )

    async def RollbackAiSettings(
        self, request: pb.RollbackAiSettingsRequest, context: Ctx
    ) -> pb.RollbackAiSettingsResponse:
        authz.require(authz.ADMINS)
        tenant_id = authz.tenant_scope(request.tenant_id)
        async with self.sessions.begin() as session:
            current = await settings_service.rollback_ai_settings(
                session, tenant_id, request.version, request.actor_email
            )
            return pb.RollbackAiSettingsResponse(current=codec.encode_version(current))

    # --- products -------------------------------------------------------------------------

    def _writer(self, tenant_id: str) -> uuid.UUID:
        authz.require(authz.ADMINS)
        return authz.tenant_scope(tenant_id)

    def _reader(self, tenant_id: str) -> uuid.UUID:
        authz.require(READERS, allow_system=True)
        return authz.tenant_scope(tenant_id)

    async def CreateProduct(self, request: pb.CreateProductRequest, context: Ctx) -> pb.CreateProductResponse:
        tenant_id = self._writer(request.tenant_id)
        async with self.sessions.begin() as session:
            product = await catalog_service.create_product(
                session, tenant_id, codec.decode_product(request.product)
            )
            return pb.CreateProductResponse(product=codec.encode_product(product))

    async def GetProduct(self, request: pb.GetProductRequest, context: Ctx) -> pb.GetProductResponse:
        tenant_id = self._reader(request.tenant_id)
        async with self.sessions.begin() as session:
            product = await catalog_service.get_product(session, tenant_id, request.product_id)
            return pb.GetProductResponse(product=codec.encode_product(product))

    async def ListProducts(self, request: pb.ListProductsRequest, context: Ctx) -> pb.ListProductsResponse:
        tenant_id = self._reader(request.tenant_id)
        statuses = [codec.PB_TO_STATUS[s] for s in request.statuses if s in codec.PB_TO_STATUS]
        async with self.sessions.begin() as session:
            products, total, following = await catalog_service.list_products(
                session, tenant_id, statuses, request.page_size, codec.offset_from(request.page_token)
            )
            return pb.ListProductsResponse(
                products=[codec.encode_product(p) for p in products],
                next_page_token=str(following) if following else "",
                total=total,
            )

    async def UpdateProduct(self, request: pb.UpdateProductRequest, context: Ctx) -> pb.UpdateProductResponse:
        tenant_id = self._writer(request.tenant_id)
        async with self.sessions.begin() as session:
            product = await catalog_service.update_product(
                session,
                tenant_id,
                request.product_id,
                codec.decode_product(request.product),
                list(request.fields),
            )
            return pb.UpdateProductResponse(product=codec.encode_product(product))

    async def DeleteProduct(self, request: pb.DeleteProductRequest, context: Ctx) -> pb.DeleteProductResponse:
        tenant_id = self._writer(request.tenant_id)
        async with self.sessions.begin() as session:
            await catalog_service.delete_product(session, tenant_id, request.product_id)
            return pb.DeleteProductResponse()

    async def ImportProducts(
        self, request: pb.ImportProductsRequest, context: Ctx
    ) -> pb.ImportProductsResponse:
        tenant_id = self._writer(request.tenant_id)
        async with self.sessions.begin() as session:
            report = await catalog_service.import_products(
                session, tenant_id, request.content, request.partial
            )
            return pb.ImportProductsResponse(
                applied=report.applied,
                created=report.count("created"),
                updated=report.count("updated"),
                rejected=report.count("rejected"),
                rows=[
                    pb.ImportRow(
                        line=r.line, code=r.code, outcome=codec.OUTCOME_TO_PB[r.outcome], reason=r.reason
                    )
                    for r in report.rows
                ],
                delimiter=report.delimiter,
                encoding=report.encoding,
            )

    async def SearchProducts(
        self, request: pb.SearchProductsRequest, context: Ctx
    ) -> pb.SearchProductsResponse:
        tenant_id = self._reader(request.tenant_id)
        query = catalog_service.SearchQuery(
            text=request.text,
            purpose=codec.PB_TO_PURPOSE.get(request.purpose, ""),
            type=request.type,
            city=request.city,
            neighbourhood=request.neighbourhood,
            min_bedrooms=request.min_bedrooms,
            min_price_cents=request.min_price_cents if request.HasField("min_price_cents") else None,
            max_price_cents=request.max_price_cents if request.HasField("max_price_cents") else None,
            min_parking_spots=request.min_parking_spots,
            statuses=tuple(codec.PB_TO_STATUS[s] for s in request.statuses if s in codec.PB_TO_STATUS),
        )
        async with self.sessions.begin() as session:
            hits, total, following = await catalog_service.search_products(
                session, tenant_id, query, request.page_size, codec.offset_from(request.page_token)
            )
            return pb.SearchProductsResponse(
                hits=[pb.ProductHit(product=codec.encode_product(p), score=s) for p, s in hits],
                next_page_token=str(following) if following else "",
                total=total,
            )

    async def MatchProducts(self, request: pb.MatchProductsRequest, context: Ctx) -> pb.MatchProductsResponse:
        tenant_id = self._reader(request.tenant_id)
        engine: AsyncEngine = self.sessions.kw["bind"]
        async with engine.connect() as connection:
            matches = await catalog_service.match_products(connection, tenant_id, request.text, request.limit)
        return pb.MatchProductsResponse(
            matches=[pb.ProductMatch(product=codec.encode_product(p), matched_by=m) for p, m in matches]
        )
