"""Seller assignment (issue 6.2): who answers a lead once the AI handed it off.

A handoff marks the conversation due (AssignmentRepository.request); the reply worker assigns right
after its commit and the sweeper catches whatever that missed. A fresh handoff keeps the lead's
current seller if they are still active, else goes to the seller responsible for a product the lead
named (the tenant's MatchProducts over the lead's recent messages: listing codes and trigger
keywords), else to the next active seller in the tenant's round-robin. A seller who does not pick the
lead up (answer it or take it over: any human owner clears the deadline) within the pick-up time loses
it to the next seller; both are told. Admins reassign with AssignLead. Every assignment is an
"assigned" event in the timeline, with its reason, and a lead.assigned live event.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from conversation import authz, errors, events
from conversation.leads import _visible_lead
from conversation.models import Conversation, Lead, LeadProfile
from conversation.ports import Seller
from conversation.repository import EventRepository, LeadRepository
from conversation.repository_assign import AssignmentRepository
from conversation.repository_jobs import OwnershipRepository, ProfileRepository
from conversation.service import parse_id

log = logging.getLogger(__name__)

ASSIGNED = "assigned"
HANDOFF = "handoff"
RESPONSIBLE = "responsible_seller"
PICKUP_TIMEOUT = "pickup_timeout"
ADMIN = "admin"
RECENT_TEXTS = 5


@dataclass(frozen=True)
class Assignment:
    event_id: uuid.UUID
    tenant_id: uuid.UUID
    lead_id: uuid.UUID
    lead_name: str
    channel_id: uuid.UUID | None
    seller: Seller
    # The seller who lost the lead (reassignment), when another one.
    previous: Seller | None
    reason: str
    summary: str


def next_in_turn(ids: list[str], last: str | None, exclude: str | None = None) -> str:
    """The first seller after `last` in a stable order, wrapping around; `exclude` (the seller who
    just missed the lead) only when nobody else is active."""
    ordered = sorted(ids)
    candidates = [i for i in ordered if i != exclude] or ordered
    after = [i for i in candidates if last is not None and i > last]
    return (after or candidates)[0]


def summary(profile: LeadProfile | None) -> str:
    """A short qualification line for a notification: the score and the first known fields."""
    if profile is None:
        return "Ainda sem qualificação."
    known = [f"{f.get('name')}: {f.get('value')}" for f in profile.fields if f.get("value")][:4]
    return " · ".join([f"Qualificação {profile.score}/100", *known])


async def _round_robin(
    repo: AssignmentRepository, tenant: uuid.UUID, ids: list[str], exclude: str | None
) -> str:
    last = await repo.turn(tenant)
    chosen = next_in_turn(ids, str(last) if last else None, exclude)
    await repo.save_turn(tenant, uuid.UUID(chosen))
    return chosen


async def assign_due(
    session: AsyncSession,
    tenant: uuid.UUID,
    conversation_id: uuid.UUID,
    sellers: list[Seller],
    responsible: list[str],
    pickup_seconds: float,
) -> Assignment | None:
    """Assign a conversation waiting for a seller; None when it no longer waits or has no seller."""
    repo = AssignmentRepository(session)
    conversation = await repo.lock_due(tenant, conversation_id)
    if conversation is None:
        return None
    lead = await LeadRepository(session).get(tenant, conversation.lead_id, lock=True)
    by_id = {s.id: s for s in sellers}
    if lead is None or not by_id:
        # Nobody to give it to: look again after a pick-up period (sellers may be activated).
        await repo.postpone(tenant, conversation_id, pickup_seconds)
        return None
    current = str(lead.assigned_user_id) if lead.assigned_user_id else None
    if conversation.assigned_at is not None:
        chosen, reason = await _round_robin(repo, tenant, list(by_id), current), PICKUP_TIMEOUT
    elif current in by_id:
        chosen, reason = current, HANDOFF
    elif owner := next((i for i in responsible if i in by_id), None):
        chosen, reason = owner, RESPONSIBLE
    else:
        chosen, reason = await _round_robin(repo, tenant, list(by_id), None), HANDOFF
    previous = (by_id.get(current) or Seller(current, "")) if current and current != chosen else None
    return await _record(
        session, conversation, lead, by_id[chosen], previous, reason, pickup_seconds, "system"
    )


async def assign_by_admin(
    session: AsyncSession,
    tenant_id: str,
    lead_id: str,
    user_id: str,
    sellers: list[Seller],
    pickup_seconds: float,
) -> tuple[Lead, Assignment | None]:
    """An admin gives the lead to an active seller (a no-op when it is already theirs)."""
    actor = authz.require_assigner()
    target = str(parse_id(user_id, "user_id"))
    lead = await _visible_lead(session, tenant_id, lead_id, lock=True)
    seller = next((s for s in sellers if s.id == target), None)
    if seller is None:
        raise errors.NotASeller(user_id)
    conversation = await OwnershipRepository(session).by_lead(lead.tenant_id, lead.id, lock=True)
    if conversation is None:
        raise errors.NoConversation()
    current = str(lead.assigned_user_id) if lead.assigned_user_id else None
    if current == target:
        return lead, None
    previous = next((s for s in sellers if s.id == current), Seller(current, "")) if current else None
    done = await _record(
        session, conversation, lead, seller, previous, ADMIN, pickup_seconds, str(actor or "admin")
    )
    await session.refresh(lead)
    return lead, done


async def _record(
    session: AsyncSession,
    conversation: Conversation,
    lead: Lead,
    seller: Seller,
    previous: Seller | None,
    reason: str,
    pickup_seconds: float,
    actor: str,
) -> Assignment:
    tenant = conversation.tenant_id
    # The pick-up clock runs only while nobody answers the lead (a handed-off conversation).
    deadline = pickup_seconds if conversation.owner == "nobody" else None
    await AssignmentRepository(session).assign(tenant, conversation, uuid.UUID(seller.id), deadline)
    event_id = await EventRepository(session).add(
        tenant,
        conversation.id,
        ASSIGNED,
        reason=reason,
        actor=actor,
        owner_user_id=uuid.UUID(seller.id),
        detail=f"previous: {previous.id}" if previous else "",
    )
    await events.publish(session, events.LEAD_ASSIGNED, tenant, lead.id)
    profile = await ProfileRepository(session).get(tenant, lead.id)
    return Assignment(
        event_id,
        tenant,
        lead.id,
        lead.name,
        conversation.channel_id,
        seller,
        previous,
        reason,
        summary(profile),
    )


async def admin_lead(session: AsyncSession, tenant_id: str, lead_id: str) -> Lead:
    """The lead an admin wants to assign (checks the role and the tenant first)."""
    authz.require_assigner()
    return await _visible_lead(session, tenant_id, lead_id)
