"""conversation.ingest_inbound() writes the lead and the conversation once per message, not twice.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25

0005's upserts always took their conflict branch's UPDATE, so every message of a known lead wrote a
new version of the lead row (and of the conversation row) before the counters' UPDATE wrote another.
Lead rows carry the list's activity indexes and the trigram indexes, so each version cost index
insertions: Postgres's largest share of the ingest CPU. Now the conflict branch writes only when the
name (or the channel) really changes, and otherwise reads the row; ON CONFLICT DO UPDATE locks the
conflicting row whether or not its WHERE holds, so concurrent messages of one lead still serialise
exactly as before. A new lead and a new conversation are inserted already counting the message, so
they are written once too. Everything else is 0005's function unchanged.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import op

revision = "0007"
down_revision = "0006"
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
    v_new_lead uuid;
BEGIN
    -- A new lead is born counting this message (a lead's first message cannot be stored already:
    -- its messages go with it), so only a known lead's row is updated below.
    INSERT INTO conversation.leads (id, tenant_id, phone, name, last_message_at, message_count)
    VALUES (gen_random_uuid(), p_tenant_id, p_phone, p_name, p_at, 1)
    ON CONFLICT (tenant_id, phone) DO UPDATE SET name = excluded.name
    -- Written only when the name really changes; the conflicting row is locked either way.
    WHERE excluded.name <> '' AND excluded.name IS DISTINCT FROM leads.name
    -- xmax is 0 only on a freshly inserted row version, not on one the conflict branch updated.
    RETURNING leads.id, leads.xmax = 0, leads.opted_out INTO r_lead_id, r_lead_created, v_opted_out;
    IF r_lead_id IS NULL THEN
        SELECT l.id, false, l.opted_out INTO r_lead_id, r_lead_created, v_opted_out
        FROM conversation.leads l WHERE l.tenant_id = p_tenant_id AND l.phone = p_phone;
    END IF;

    r_leads := 'ok';
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

    INSERT INTO conversation.conversations (id, tenant_id, lead_id, channel_id, last_inbound_at)
    VALUES (gen_random_uuid(), p_tenant_id, r_lead_id, p_channel_id, p_at)
    ON CONFLICT (tenant_id, lead_id) DO UPDATE SET channel_id = excluded.channel_id
    WHERE excluded.channel_id IS NOT NULL
        AND excluded.channel_id IS DISTINCT FROM conversations.channel_id
    RETURNING conversations.id, conversations.owner, conversations.xmax = 0
    INTO r_conversation_id, v_owner, v_conversation_created;
    IF r_conversation_id IS NULL THEN
        SELECT c.id, c.owner, false INTO r_conversation_id, v_owner, v_conversation_created
        FROM conversation.conversations c WHERE c.tenant_id = p_tenant_id AND c.lead_id = r_lead_id;
    END IF;

    INSERT INTO conversation.messages (id, tenant_id, lead_id, conversation_id, direction, provider,
        external_id, kind, text, media, location, reply_id, raw, sent_at, auto_reply_blocked)
    VALUES (gen_random_uuid(), p_tenant_id, r_lead_id, r_conversation_id, 'inbound', p_provider,
        p_external_id, p_kind, p_text, p_media, p_location, p_reply_id, p_raw, p_sent_at,
        nullif(r_blocked, ''))
    ON CONFLICT (tenant_id, provider, external_id) DO NOTHING
    RETURNING messages.id INTO r_message_id;

    r_created := r_message_id IS NOT NULL;
    r_scheduled := false;
    IF NOT r_created THEN
        -- Already stored: report that message and change nothing more. (Only if the same provider
        -- id came from another identity could the lead or conversation be new here: undo their
        -- count and time, which assumed this message.)
        v_new_lead := r_lead_id;
        IF r_lead_created THEN
            UPDATE conversation.leads l SET message_count = 0
            WHERE l.tenant_id = p_tenant_id AND l.id = v_new_lead;
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

    IF NOT r_lead_created THEN
        UPDATE conversation.leads l
        SET message_count = l.message_count + 1,
            -- GREATEST ignores NULL and keeps a late provider retry from moving time backwards.
            last_message_at = greatest(l.last_message_at, p_at)
        WHERE l.tenant_id = p_tenant_id AND l.id = r_lead_id;
    END IF;
    IF NOT v_conversation_created THEN
        UPDATE conversation.conversations c
        SET last_inbound_at = greatest(c.last_inbound_at, p_at)
        WHERE c.tenant_id = p_tenant_id AND c.id = r_conversation_id;
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
    """0005's function, for downgrade, read from that migration itself."""
    path = Path(__file__).with_name("0005_ingest_function.py")
    spec = importlib.util.spec_from_file_location("conversation_migration_0005", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.FUNCTION).replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def upgrade() -> None:
    op.execute(FUNCTION)


def downgrade() -> None:
    op.execute(_previous())
