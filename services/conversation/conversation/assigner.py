"""Runs assignments: asks the tenant service for sellers outside any transaction, assigns in one short
transaction (SKIP LOCKED, so replicas share the work), then notifies the sellers (notify.NotifyUser:
web push, and a WhatsApp alert to the new seller's phone when enabled).

Notifications are sent after commit and are idempotent in notify on the assignment event's id; one
lost to a notify outage is not retried (the lead stays assigned and visible in the dashboard).
Logs carry ids, never phone numbers or names.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import grpc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conversation import assignment
from conversation.assignment import ADMIN, PICKUP_TIMEOUT, Assignment
from conversation.config import Settings
from conversation.models import Lead
from conversation.ports import Notice, TenantPort, UserNotifier
from conversation.repository_assign import AssignmentRepository
from conversation.repository_jobs import OwnershipRepository
from vellarys.notify.v1 import notify_pb2_grpc as npb_grpc
from vellarys.tenant.v1 import tenant_pb2_grpc as tpb_grpc

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AssignConfig:
    pickup_seconds: float = 15 * 60.0
    whatsapp_alerts: bool = True
    sweep_limit: int = 50


class Assigner:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        tenant: TenantPort,
        notifier: UserNotifier,
        config: AssignConfig,
    ) -> None:
        self.sessions = sessions
        self.tenant = tenant
        self.notifier = notifier
        self.config = config

    async def sweep(self) -> int:
        """Assign every conversation whose handoff or pick-up deadline is due; how many were."""
        async with self.sessions.begin() as session:
            due = await AssignmentRepository(session).due(self.config.sweep_limit)
        done = 0
        for tenant_id, conversation_id in due:
            done += await self.run(tenant_id, conversation_id) is not None
        return done

    async def run(self, tenant_id: uuid.UUID, conversation_id: uuid.UUID) -> Assignment | None:
        async with self.sessions.begin() as session:
            conversation = await OwnershipRepository(session).get(tenant_id, conversation_id)
            if conversation is None or conversation.assignment_due_at is None:
                return None
            fresh = conversation.assigned_at is None
            repo = AssignmentRepository(session)
            text = await repo.recent_inbound_text(tenant_id, conversation.lead_id, assignment.RECENT_TEXTS)
        try:
            sellers = await self.tenant.sellers(str(tenant_id))
            responsible = await self.tenant.responsible_sellers(str(tenant_id), text) if fresh else []
        except grpc.aio.AioRpcError as error:
            log.warning("tenant service unavailable, assignment retried later: %s", error.code().name)
            return None
        async with self.sessions.begin() as session:
            done = await assignment.assign_due(
                session, tenant_id, conversation_id, sellers, responsible, self.config.pickup_seconds
            )
        if done is not None:
            log.info("lead %s assigned to user %s (%s)", done.lead_id, done.seller.id, done.reason)
            await self.announce(done)
        return done

    async def assign_by_admin(
        self, tenant_id: str, lead_id: str, user_id: str
    ) -> tuple[Lead, Assignment | None]:
        async with self.sessions.begin() as session:
            lead = await assignment.admin_lead(session, tenant_id, lead_id)
        sellers = await self.tenant.sellers(str(lead.tenant_id))
        async with self.sessions.begin() as session:
            lead, done = await assignment.assign_by_admin(
                session, tenant_id, lead_id, user_id, sellers, self.config.pickup_seconds
            )
        if done is not None:
            await self.announce(done)
        return lead, done

    async def announce(self, done: Assignment) -> None:
        for notice in notices(done, self.config):
            try:
                await self.notifier.notify(notice)
            except grpc.aio.AioRpcError as error:
                log.warning("notify.NotifyUser failed for user %s: %s", notice.user_id, error.code().name)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g}"


def notices(done: Assignment, config: AssignConfig) -> list[Notice]:
    """What the new seller (and the one who lost the lead) are told, in Portuguese."""
    name = done.lead_name or "lead sem nome"
    titles = {
        PICKUP_TIMEOUT: f"Lead repassado para você: {name}",
        ADMIN: f"Lead atribuído a você: {name}",
    }
    body = done.summary
    if done.reason == PICKUP_TIMEOUT:
        body += f" · Sem atendimento em {_minutes(config.pickup_seconds)} min."
    common = {
        "tenant_id": str(done.tenant_id),
        "url": f"/leads/{done.lead_id}",
        "data": {"lead_id": str(done.lead_id), "reason": done.reason, "event": "lead.assigned"},
    }
    phone = done.seller.phone if config.whatsapp_alerts else ""
    result = [
        Notice(
            user_id=done.seller.id,
            title=titles.get(done.reason, f"Novo lead para você: {name}"),
            body=body,
            notification_id=f"{done.event_id}:assigned",
            whatsapp_phone=phone,
            channel_id=str(done.channel_id or "") if phone else "",
            **common,  # type: ignore[arg-type]
        )
    ]
    if done.previous is not None:
        why = (
            f"Sem atendimento em {_minutes(config.pickup_seconds)} min"
            if done.reason == PICKUP_TIMEOUT
            else "Um administrador reatribuiu o lead"
        )
        result.append(
            Notice(
                user_id=done.previous.id,
                title=f"Lead repassado: {name}",
                body=f"{why}: agora está com {done.seller.name or 'outro vendedor'}.",
                notification_id=f"{done.event_id}:previous",
                **common,  # type: ignore[arg-type]
            )
        )
    return result


def make_assigner(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    tenant: tpb_grpc.TenantServiceStub | None,
    notify: npb_grpc.NotifyServiceStub,
) -> Assigner | None:
    """None without a tenant service (the sellers live there)."""
    if tenant is None:
        return None
    deadline = settings.reply_notify_deadline_seconds
    config = AssignConfig(settings.pickup_minutes * 60, settings.seller_whatsapp_alerts)
    return Assigner(sessions, TenantPort(tenant, deadline), UserNotifier(notify, deadline), config)
