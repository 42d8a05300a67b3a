"""ListAssignableSellers: the tenant's active sellers, for the conversation service's lead assignment.

A mixin of TenantServicer (like IdentityRpcs and CatalogRpcs). Callers: the conversation service
(role "service", bound to the lead's tenant) and admins; never a seller or viewer, since it carries
the sellers' phones.
"""

from __future__ import annotations

import grpc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenant import authz
from tenant.repository import UserRepository
from vellarys.tenant.v1 import tenant_pb2 as pb

CALLERS = authz.ADMINS | {"service"}
# Far above any agency's team; the page query is the users list the admin screen already uses.
MAX_USERS = 5000


class SellerRpcs:
    sessions: async_sessionmaker[AsyncSession]

    async def ListAssignableSellers(
        self, request: pb.ListAssignableSellersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAssignableSellersResponse:
        authz.require(CALLERS, allow_system=True)
        tenant_id = authz.tenant_scope(request.tenant_id)
        async with self.sessions.begin() as session:
            users, _ = await UserRepository(session).page(tenant_id, MAX_USERS, 0)
        sellers = sorted((u for u in users if u.role == "seller" and u.active), key=lambda u: str(u.id))
        return pb.ListAssignableSellersResponse(
            sellers=[pb.AssignableSeller(id=str(u.id), name=u.name, phone=u.phone or "") for u in sellers]
        )
