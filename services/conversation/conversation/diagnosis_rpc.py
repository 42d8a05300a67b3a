"""The diagnosis over gRPC: ai's call log and notify's delivery for the lead's last message, and the
encoding of the answer (the _pb2 of the diagnosis stays here and in server.py).

ai and notify are asked with the caller's own context (the kit channel forwards it), so they re-check
that an admin only reads their own tenant.
"""

from __future__ import annotations

from datetime import datetime

from conversation.diagnosis import AiCall, DeliveryInfo, Diagnosis
from kit.timestamps import timestamp_or_none
from vellarys.ai.v1 import ai_pb2 as apb
from vellarys.ai.v1 import ai_pb2_grpc as apb_grpc
from vellarys.conversation.v1 import conversation_pb2 as pb
from vellarys.notify.v1 import notify_pb2 as npb
from vellarys.notify.v1 import notify_pb2_grpc as npb_grpc

OUTCOMES = {value: name.removeprefix("OUTCOME_").lower() for name, value in apb.Outcome.items()}
STATUSES = {
    value: name.removeprefix("DELIVERY_STATUS_").lower() for name, value in npb.DeliveryStatus.items()
}
DEADLINE = 5.0


def _when(message: object, name: str) -> datetime | None:
    return getattr(message, name).ToDatetime() if message.HasField(name) else None  # type: ignore[attr-defined]


class GrpcLookups:
    def __init__(self, ai: apb_grpc.AiServiceStub, notify: npb_grpc.NotifyServiceStub) -> None:
        self.ai = ai
        self.notify = notify

    async def calls(self, tenant_id: str, job_id: str) -> list[AiCall]:
        reply = await self.ai.ListJobCalls(
            apb.ListJobCallsRequest(tenant_id=tenant_id, job_id=job_id), timeout=DEADLINE
        )
        return [
            AiCall(
                c.attempt,
                c.model,
                OUTCOMES.get(c.outcome, "unspecified"),
                c.latency_ms,
                _when(c, "created_at"),
            )
            for c in reply.calls
        ]

    async def delivery(self, tenant_id: str, message_id: str) -> DeliveryInfo | None:
        reply = await self.notify.ListDeliveries(
            npb.ListDeliveriesRequest(tenant_id=tenant_id, message_id=message_id, page_size=1),
            timeout=DEADLINE,
        )
        if not reply.deliveries:
            return None
        d = reply.deliveries[0]
        return DeliveryInfo(
            id=d.id, status=STATUSES.get(d.status, "unspecified"), attempts=d.attempts,
            last_error=d.last_error, error_code=d.error_code, provider=d.provider,
            provider_message_id=d.provider_message_id, updated_at=_when(d, "updated_at"),
            next_attempt_at=_when(d, "next_attempt_at"),
        )  # fmt: skip


def encode(d: Diagnosis) -> pb.DiagnoseLeadResponse:
    return pb.DiagnoseLeadResponse(
        lead_id=d.lead_id,
        message_id=d.message_id,
        verdict=d.verdict,
        broken_step=d.broken_step,
        advice=d.advice,
        steps=[
            pb.DiagnosisStep(
                name=s.name, state=s.state, summary=s.summary, at=timestamp_or_none(s.at), facts=s.facts
            )
            for s in d.steps
        ],
    )
