"""conversation.ingest_inbound() finds a known lead and its conversation once per message, not twice.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26

0007's function tried to insert the lead, found it there (ON CONFLICT, which locks the row), read it
again with a SELECT, and after the message was stored wrote its counters with an UPDATE: three
lookups of one row in the (tenant_id, phone) index and the primary key, on a table whose every
message writes a new row version (its activity index forbids HOT updates), so each lookup steps over
dead index entries. Same for the conversation.

Now the conflict branch itself counts the message (and takes a non-empty name, and a channel), so a
known lead and its conversation are each found, locked and written by one statement, in the same
order as before (lead, conversation, message, reply job: the same locks, so the same deadlock-free
ordering). Counting before the message is stored needs the message to be new, so a copy of a stored
message (a provider retry, mostly) is recognised first by the messages' unique index and reported
without touching anything: also no lead is created any more for a copy arriving under a second
identity (a Z-API @lid, then the phone). A copy that commits between that check and the insert (two
copies in flight at once) is still caught by the insert's ON CONFLICT, and the count is taken back;
its time stays counted in last_message_at, which for a copy of the same webhook is the same time.

Measured (2026-11-26, both functions side by side in one database, one backend, batches of 128
through ingest_inbound_many, 5 % copies, its CPU read from /proc): with 3,000 leads writing again,
264 against 319 µs of Postgres CPU per message (8 alternating rounds, every round lower); with every
message a new lead's, 309 against 307 (the check costs what the merged statements save).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

FUNCTION = """
CREATE OR REPLACE FUNCTION conversation.ingest_inbound(
    p_tenant_id uuid, p_phone text, p_name text, p_at timestamptz, p_channel_id uuid,
    p_provider text, p_external_id text, p_kind text, p_text text, p_media jsonb, p_location jsonb,
    p_reply_id text, p_raw jsonb, p_sent_at timestamptz,
    -- the block reason that needs no database state ('' when none): suspended, messages per minute
    p_blocked text, p_leads_soft int, p_leads_hard int,
    p_is_opt_in boolean, p_delay double precision, p_max_wait double precision,
    p_traceparent text, p_tracestate text
) RETURNS TABLE (
    r_lead_id uuid, r_lead_created boolean, r_message_id uuid, r_created boolean,
    r_conversation_id uuid, r_leads text, r_blocked text, r_scheduled boolean
) LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    v_opted_out boolean;
    v_count int;
    v_owner text;
    v_conversation_created boolean;
BEGIN
    r_leads := 'ok';
    r_scheduled := false;
    r_created := false;
    r_lead_created := false;
    -- A copy of a stored message: report that one and change nothing.
    SELECT m.lead_id, m.id, m.conversation_id INTO r_lead_id, r_message_id, r_conversation_id
    FROM conversation.messages m
    WHERE m.tenant_id = p_tenant_id AND m.provider = p_provider AND m.external_id = p_external_id;
    IF FOUND THEN
        r_blocked := p_blocked;
        RETURN NEXT;
        RETURN;
    END IF;

    -- The lead, counting this message: a new one is born with it, a known one is found, locked and
    -- counted by the conflict branch (a name only replaces the stored one when it is not empty).
    INSERT INTO conversation.leads AS l (id, tenant_id, phone, name, last_message_at, message_count)
    VALUES (gen_random_uuid(), p_tenant_id, p_phone, p_name, p_at, 1)
    ON CONFLICT (tenant_id, phone) DO UPDATE SET
        message_count = l.message_count + 1,
        -- GREATEST ignores NULL and keeps a late provider retry from moving time backwards.
        last_message_at = greatest(l.last_message_at, excluded.last_message_at),
        name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE l.name END
    -- xmax is 0 only on a freshly inserted row version, not on one the conflict branch updated.
    RETURNING l.id, l.xmax = 0, l.opted_out INTO r_lead_id, r_lead_created, v_opted_out;

    IF r_lead_created THEN
        INSERT INTO conversation.tenant_day_counters (tenant_id, day, new_leads)
        VALUES (p_tenant_id, (now() AT TIME ZONE 'America/Sao_Paulo')::date, 1)
        ON CONFLICT (tenant_id, day) DO UPDATE SET new_leads = tenant_day_counters.new_leads + 1
        RETURNING tenant_day_counters.new_leads INTO v_count;
        -- Same rule as the gateway's counters: over a threshold (count > limit), not at it; 0 = off.
        r_leads := CASE
            WHEN p_leads_hard <> 0 AND v_count > p_leads_hard THEN 'hard'
            WHEN p_leads_soft <> 0 AND v_count > p_leads_soft THEN 'soft'
            ELSE 'ok' END;
    END IF;
    r_blocked := CASE
        WHEN p_blocked <> '' THEN p_blocked
        WHEN r_leads = 'hard' THEN 'leads_per_day_hard'
        ELSE '' END;

    INSERT INTO conversation.conversations AS c (id, tenant_id, lead_id, channel_id, last_inbound_at)
    VALUES (gen_random_uuid(), p_tenant_id, r_lead_id, p_channel_id, p_at)
    ON CONFLICT (tenant_id, lead_id) DO UPDATE SET
        channel_id = coalesce(excluded.channel_id, c.channel_id),
        last_inbound_at = greatest(c.last_inbound_at, excluded.last_inbound_at)
    RETURNING c.id, c.owner, c.xmax = 0 INTO r_conversation_id, v_owner, v_conversation_created;

    INSERT INTO conversation.messages (id, tenant_id, lead_id, conversation_id, direction, provider,
        external_id, kind, text, media, location, reply_id, raw, sent_at, auto_reply_blocked)
    VALUES (gen_random_uuid(), p_tenant_id, r_lead_id, r_conversation_id, 'inbound', p_provider,
        p_external_id, p_kind, p_text, p_media, p_location, p_reply_id, p_raw, p_sent_at,
        nullif(r_blocked, ''))
    ON CONFLICT (tenant_id, provider, external_id) DO NOTHING
    RETURNING messages.id INTO r_message_id;

    r_created := r_message_id IS NOT NULL;
    IF NOT r_created THEN
        -- A copy committed since the check above: take back this message's count (a lead or a
        -- conversation born with it counts nothing and has no inbound time) and report that one.
        IF r_lead_created THEN
            UPDATE conversation.leads l SET message_count = 0
            WHERE l.tenant_id = p_tenant_id AND l.id = r_lead_id;
        ELSE
            UPDATE conversation.leads l SET message_count = greatest(l.message_count - 1, 0)
            WHERE l.tenant_id = p_tenant_id AND l.id = r_lead_id;
        END IF;
        IF v_conversation_created THEN
            UPDATE conversation.conversations c SET last_inbound_at = NULL
            WHERE c.tenant_id = p_tenant_id AND c.id = r_conversation_id;
        END IF;
        SELECT m.lead_id, m.id, m.conversation_id INTO r_lead_id, r_message_id, r_conversation_id
        FROM conversation.messages m
        WHERE m.tenant_id = p_tenant_id AND m.provider = p_provider AND m.external_id = p_external_id;
        RETURN NEXT;
        RETURN;
    END IF;

    r_scheduled := r_blocked = '' AND v_owner = 'ai' AND (NOT v_opted_out OR p_is_opt_in);
    IF r_scheduled THEN
        INSERT INTO conversation.reply_jobs (id, tenant_id, conversation_id, lead_id, status,
            run_after, burst_started_at, last_message_id, traceparent, tracestate)
        VALUES (gen_random_uuid(), p_tenant_id, r_conversation_id, r_lead_id, 'queued',
            now() + make_interval(secs => p_delay), now(), r_message_id, p_traceparent, p_tracestate)
        ON CONFLICT (conversation_id) WHERE status IN ('queued', 'retry_wait') DO UPDATE SET
            status = 'queued',
            -- A job waiting for the model (retry_wait) is woken: the new message deserves a try now.
            run_after = CASE WHEN reply_jobs.status = 'retry_wait'
                THEN now() + make_interval(secs => p_delay)
                ELSE least(now() + make_interval(secs => p_delay),
                    reply_jobs.burst_started_at + make_interval(secs => p_max_wait)) END,
            burst_started_at = CASE WHEN reply_jobs.status = 'retry_wait' THEN now()
                ELSE reply_jobs.burst_started_at END,
            last_message_id = excluded.last_message_id, traceparent = excluded.traceparent,
            tracestate = excluded.tracestate, updated_at = now();
    END IF;
    RETURN NEXT;
END
$fn$
"""


def _previous() -> str:
    """0007's function, for downgrade, read from that migration itself."""
    path = Path(__file__).with_name("0007_ingest_fewer_writes.py")
    spec = importlib.util.spec_from_file_location("conversation_migration_0007", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.FUNCTION)


def upgrade() -> None:
    op.execute(FUNCTION)


def downgrade() -> None:
    op.execute(_previous())
