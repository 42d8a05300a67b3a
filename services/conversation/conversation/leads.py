"""Use cases of the dashboard: list, read and update leads, page through their messages.

Every query is scoped by authz.scope(): the caller's tenant, and for sellers their own or unassigned
leads. A lead outside the scope is NOT_FOUND, exactly like one that does not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from conversation import authz, errors
from conversation.domain import LEAD_STATUSES, LeadFilters, decode_cursor, encode_cursor
from conversation.models import Lead, Message
from conversation.repository import LeadRepository
from conversation.repository_leads import LeadQueries
from conversation.service import parse_id

MAX_LEADS_PAGE = 100
MAX_MESSAGES_PAGE = 200
DEFAULT_PAGE = 50
MAX_NOTES = 10_000
MAX_QUERY = 100


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str


def optional_id(value: str, field: str) -> uuid.UUID | None:
    return parse_id(value, field) if value else None


def _limit(value: int, maximum: int) -> int:
    if value < 0 or value > maximum:
        raise errors.BadValue("limit", str(value), (f"1..{maximum}",))
    return value or DEFAULT_PAGE


def _position(cursor: str) -> tuple[datetime, uuid.UUID] | None:
    if not cursor:
        return None
    position = decode_cursor(cursor)
    if position is None:
        raise errors.BadCursor()
    return position


def _scoped_filters(filters: LeadFilters, scope: authz.Scope, mine: bool) -> LeadFilters:
    if filters.status and filters.status not in LEAD_STATUSES:
        raise errors.BadValue("status", filters.status, LEAD_STATUSES)
    if len(filters.query) > MAX_QUERY:
        raise errors.TooLong("query", MAX_QUERY)
    if scope.seller_id is not None:
        return replace(filters, visible_to=scope.seller_id)
    if mine:
        actor = authz.actor_id()
        if actor is None:
            raise errors.MissingField("an acting user (unassigned_or_mine needs one)")
        return replace(filters, visible_to=actor)
    return filters


async def list_leads(
    session: AsyncSession,
    tenant_id: str,
    filters: LeadFilters,
    cursor: str,
    limit: int,
    *,
    mine: bool = False,
) -> Page[Lead]:
    scope = authz.scope(optional_id(tenant_id, "tenant_id"))
    size = _limit(limit, MAX_LEADS_PAGE)
    query = _scoped_filters(filters, scope, mine)
    # One extra row tells whether another page exists without a COUNT.
    rows = await LeadQueries(session).page(scope.tenant_id, query, _position(cursor), size + 1)
    more = len(rows) > size
    items = rows[:size]
    last = items[-1] if items else None
    return Page(items, encode_cursor(last.last_message_at, last.id) if more and last else "")


async def _visible_lead(session: AsyncSession, tenant_id: str, lead_id: str, *, lock: bool = False) -> Lead:
    scope = authz.scope(optional_id(tenant_id, "tenant_id"))
    lead = await LeadRepository(session).get(scope.tenant_id, parse_id(lead_id, "lead_id"), lock=lock)
    hidden = (
        scope.seller_id is not None
        and lead is not None
        and lead.assigned_user_id not in (None, scope.seller_id)
    )
    if lead is None or hidden:
        raise errors.LeadNotFound()
    return lead


async def get_lead(session: AsyncSession, tenant_id: str, lead_id: str) -> Lead:
    return await _visible_lead(session, tenant_id, lead_id)


async def list_messages(
    session: AsyncSession, tenant_id: str, lead_id: str, cursor: str, limit: int
) -> Page[Message]:
    lead = await _visible_lead(session, tenant_id, lead_id)
    size = _limit(limit, MAX_MESSAGES_PAGE)
    rows = await LeadQueries(session).messages(lead.tenant_id, lead.id, _position(cursor), size + 1)
    items = rows[:size]
    last = items[-1] if items else None
    return Page(items, encode_cursor(last.created_at, last.id) if len(rows) > size and last else "")


async def update_lead(
    session: AsyncSession, tenant_id: str, lead_id: str, status: str | None, notes: str | None
) -> Lead:
    authz.require_writer()
    if status is not None and status not in LEAD_STATUSES:
        raise errors.BadValue("status", status, LEAD_STATUSES)
    if notes is not None and len(notes) > MAX_NOTES:
        raise errors.TooLong("notes", MAX_NOTES)
    lead = await _visible_lead(session, tenant_id, lead_id, lock=True)
    values: dict[str, object] = {"status": status, "notes": notes.replace("\x00", "") if notes else notes}
    changes = {key: value for key, value in values.items() if value is not None}
    if changes:
        await LeadQueries(session).update(lead.tenant_id, lead.id, changes | {"updated_at": func.now()})
        await session.refresh(lead)
    return lead
