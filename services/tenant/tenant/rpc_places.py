"""ListCatalogPlaces and ListTriggerTerms, mixed into TenantServicer (which provides `sessions`):
the catalog's vocabulary, as the ai service keeps it.

The built-in responder reads neighbourhoods and cities with the places, so a lead writing "agua
verde" is matched to the catalog's "Água Verde" and no place is invented. The model path asks
MatchProducts only about a message that contains one of the trigger terms.
"""

from __future__ import annotations

from typing import TypeAlias

import grpc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenant import authz
from tenant.repository_catalog import catalog_places, trigger_terms
from vellarys.tenant.v1 import tenant_pb2 as pb

Ctx: TypeAlias = grpc.aio.ServicerContext
READERS = authz.ANY_USER | {"service"}


class PlacesRpcs:
    sessions: async_sessionmaker[AsyncSession]

    async def ListCatalogPlaces(
        self, request: pb.ListCatalogPlacesRequest, context: Ctx
    ) -> pb.ListCatalogPlacesResponse:
        authz.require(READERS, allow_system=True)
        tenant_id = authz.tenant_scope(request.tenant_id)
        async with self.sessions.begin() as session:
            neighbourhoods, cities = await catalog_places(session, tenant_id)
        return pb.ListCatalogPlacesResponse(neighbourhoods=neighbourhoods, cities=cities)

    async def ListTriggerTerms(
        self, request: pb.ListTriggerTermsRequest, context: Ctx
    ) -> pb.ListTriggerTermsResponse:
        authz.require(READERS, allow_system=True)
        tenant_id = authz.tenant_scope(request.tenant_id)
        async with self.sessions.begin() as session:
            terms = await trigger_terms(session, tenant_id)
        if terms is None:
            return pb.ListTriggerTermsResponse(complete=False)
        return pb.ListTriggerTermsResponse(code_keys=terms[0], keywords=terms[1], complete=True)
