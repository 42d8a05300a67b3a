"""The dashboard's text search reads the trigram indexes for a rare term, whatever the histogram says.

A phone search such as "7499" matches a few dozen of 100,000 leads. When one of the leads.phone
histogram's entries happened to contain the digits, Postgres estimated 1 % of the table and walked
the tenant's activity index, filtering every lead (50-120 ms in the leads-list bench) instead of
reading the trigram indexes (about 5 ms). This test makes that situation on purpose: every term is cut
from a phone in the histogram, in a database of its own with 100,000 leads.
"""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from conversation.domain import LeadFilters
from conversation.repository_leads import LeadQueries
from kit import db
from kit.dbadmin import asyncpg_dsn

TENANT = uuid.UUID(int=0xB0B0)
LEADS = 100_000
LOAD = f"""
INSERT INTO conversation.leads (id, tenant_id, phone, name, status, created_at, last_message_at)
SELECT md5('lead' || i)::uuid, '{TENANT}', '+55' || (11000000000 + i * 7919 % 88999999999)::text,
  (ARRAY['Maria','João','Ana','Pedro'])[1 + i % 4] || ' ' || (ARRAY['Silva','Souza','Lima'])[1 + (i / 4) % 3],
  'new', now() - interval '90 days',
  date_trunc('minute', now() - ((i * 37) % 1000) / 1000.0 * 90 * interval '1 day')
FROM generate_series(1, {LEADS}) AS i
"""


async def test_a_rare_phone_term_reads_the_trigram_indexes(fresh: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(fresh))
    try:
        await conn.execute(LOAD)
        await conn.execute("ANALYZE conversation.leads")
        bounds = await conn.fetchval(
            "SELECT histogram_bounds::text::text[] FROM pg_stats"
            " WHERE schemaname = 'conversation' AND tablename = 'leads' AND attname = 'phone'"
        )
    finally:
        await conn.close()
    # Five digits from the middle of ten phones the histogram holds: each term has a histogram hit.
    terms = [bounds[n][6:11] for n in range(5, len(bounds), len(bounds) // 10)][:10]
    url = make_url(fresh).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    engine = db.create_engine(url, pool_size=1, max_overflow=0, application_name="test-search-plans")
    plans: list[str] = []
    try:
        async with engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None
            try:
                await driver.execute("LOAD 'auto_explain'")
            except asyncpg.InsufficientPrivilegeError:
                pytest.skip("auto_explain needs a superuser here")
            await driver.execute("SET auto_explain.log_min_duration = 0; SET auto_explain.log_level = notice")
            driver.add_log_listener(lambda _conn, message: plans.append(str(message.message)))
            for term in terms:
                async with AsyncSession(bind=connection) as session, session.begin():
                    found = await LeadQueries(session).page(TENANT, LeadFilters(query=term), None, 50)
                    assert found and all(term in lead.phone for lead in found)
    finally:
        await engine.dispose()
    searches = [p for p in plans if "ix_leads_activity" in p or "trgm" in p]
    assert len(searches) == len(terms), plans
    for term, plan in zip(terms, searches, strict=True):
        assert "Bitmap Index Scan on ix_leads_phone_trgm" in plan, f"{term!r} walked the leads:\n{plan}"
