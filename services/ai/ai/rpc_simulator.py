"""The simulator RPCs, mixed into AiServicer (which provides `sessions`, `responder` and `tenants`).

Every RPC re-checks the caller (ai.authz): admins act on their own tenant, the superadmin on any;
another tenant's cases are NOT_FOUND. Replies are generated outside any transaction, then their
call-log rows (simulated = true) are written in one short transaction.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TypeAlias

import grpc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ai import authz, codec, metrics, service, simulator_service
from ai.reply import ReplyInput, Responder
from ai.tenant_port import TenantPort
from vellarys.ai.v1 import ai_pb2 as pb

log = logging.getLogger(__name__)
Ctx: TypeAlias = grpc.aio.ServicerContext


class SimulatorRpcs:
    sessions: async_sessionmaker[AsyncSession]
    responder: Responder | None
    tenants: TenantPort

    async def Simulate(self, request: pb.SimulateRequest, context: Ctx) -> pb.SimulateResponse:
        tenant_id = authz.tenant_scope(request.tenant_id)
        decoded = ReplyInput(
            tenant_id=tenant_id,
            lead_id="",
            lead_name=request.lead_name,
            history=[codec.decode_turn(m) for m in request.history],
            profile=[codec.decode_field(f) for f in request.profile],
        )
        reply = await simulator_service.simulate(decoded, self.responder)
        metrics.REPLIES.labels(reply.outcome.value).inc()
        async with self.sessions.begin() as session:
            await service.record_call(session, decoded, reply, simulated=True)
        return pb.SimulateResponse(reply=codec.encode_reply(reply))

    async def CreateSimulatorCase(
        self, request: pb.CreateSimulatorCaseRequest, context: Ctx
    ) -> pb.CreateSimulatorCaseResponse:
        tenant_id = authz.tenant_scope(request.tenant_id)
        spec = codec.decode_case(request.case)
        async with self.sessions.begin() as session:
            case = await simulator_service.create_case(session, tenant_id, spec, authz.actor_id())
            return pb.CreateSimulatorCaseResponse(case=codec.encode_case(case))

    async def GetSimulatorCase(
        self, request: pb.GetSimulatorCaseRequest, context: Ctx
    ) -> pb.GetSimulatorCaseResponse:
        tenant_id = authz.tenant_scope(request.tenant_id)
        async with self.sessions.begin() as session:
            case = await simulator_service.get_case(session, tenant_id, request.case_id)
            return pb.GetSimulatorCaseResponse(case=codec.encode_case(case))

    async def ListSimulatorCases(
        self, request: pb.ListSimulatorCasesRequest, context: Ctx
    ) -> pb.ListSimulatorCasesResponse:
        tenant_id = authz.tenant_scope(request.tenant_id)
        async with self.sessions.begin() as session:
            cases = await simulator_service.list_cases(session, tenant_id)
            return pb.ListSimulatorCasesResponse(cases=[codec.encode_case(c) for c in cases])

    async def UpdateSimulatorCase(
        self, request: pb.UpdateSimulatorCaseRequest, context: Ctx
    ) -> pb.UpdateSimulatorCaseResponse:
        tenant_id = authz.tenant_scope(request.tenant_id)
        spec = codec.decode_case(request.case)
        async with self.sessions.begin() as session:
            case = await simulator_service.update_case(session, tenant_id, request.case_id, spec)
            return pb.UpdateSimulatorCaseResponse(case=codec.encode_case(case))

    async def DeleteSimulatorCase(
        self, request: pb.DeleteSimulatorCaseRequest, context: Ctx
    ) -> pb.DeleteSimulatorCaseResponse:
        tenant_id = authz.tenant_scope(request.tenant_id)
        async with self.sessions.begin() as session:
            await simulator_service.delete_case(session, tenant_id, request.case_id)
        return pb.DeleteSimulatorCaseResponse()

    async def RunSimulatorCases(
        self, request: pb.RunSimulatorCasesRequest, context: Ctx
    ) -> pb.RunSimulatorCasesResponse:
        tenant_id = authz.tenant_scope(request.tenant_id)
        async with self.sessions.begin() as session:
            cases = await simulator_service.cases_to_run(session, tenant_id, list(request.case_ids))
        version = await self._settings_version(tenant_id)
        started = datetime.now(UTC)
        outcomes = await simulator_service.run_cases(tenant_id, cases, self.responder)
        window = (started, datetime.now(UTC))
        async with self.sessions.begin() as session:
            run = await simulator_service.save_run(
                session, tenant_id, outcomes, version, window, authz.actor_id()
            )
            return pb.RunSimulatorCasesResponse(run=codec.encode_run(run))

    async def ListSimulatorRuns(
        self, request: pb.ListSimulatorRunsRequest, context: Ctx
    ) -> pb.ListSimulatorRunsResponse:
        tenant_id = authz.tenant_scope(request.tenant_id)
        async with self.sessions.begin() as session:
            runs = await simulator_service.list_runs(session, tenant_id, request.page_size)
            return pb.ListSimulatorRunsResponse(runs=[codec.encode_run(r) for r in runs])

    async def _settings_version(self, tenant_id: str) -> int | None:
        # Only a label on the run: a run without it is still worth having.
        try:
            return (await self.tenants.ai_settings(tenant_id)).version
        except Exception:
            log.warning("AI settings version unavailable for a simulator run", exc_info=True)
            return None
