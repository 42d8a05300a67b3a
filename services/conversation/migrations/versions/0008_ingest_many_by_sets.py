"""conversation.ingest_inbound_many() stores a batch in eight statements, not a dozen per message.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26

0006's function ran 0007's conversation.ingest_inbound() once per message, so a batch of 128 messages
ran some nine hundred statements, and most of Postgres's ingest CPU went to starting and ending them
(executor start-up, CHECK constraints rebuilt from their stored form, trigger and snapshot set-up),
not to the rows. This version does the same work a step at a time for the whole batch: each step is
one statement over the batch's arrays, and the results of each step travel to the next as arrays with
one element per message.

What each message gets is what 0007's function gives it, run over the items in their order:

- Leads are locked in one order, (tenant, phone) with the phone in byte order, whatever the items'
  order, so concurrent batches never lock them crosswise. A lead's
  name becomes the last non-empty name the batch brings, written only if it changes. A new lead is
  born counting all of its messages in the batch; only the item that created it reports it created.
- New leads are counted per tenant in one upsert; each new lead's level (soft, hard) is its own
  position in the day's count, as if the counter had been bumped once per lead in the items' order.
- A conversation follows the last channel the batch names. A new one is born with the latest time.
- Messages are inserted in the items' order: of two copies in one batch, the first is stored and the
  second reports it. A copy stored before (by this lead, or by another identity with the same provider
  id) reports that message's ids and counts nothing: a lead or conversation born for it gives back
  its count and time.
- A reply job is written once per conversation, for the last message that schedules one.

Each step that must see what concurrent transactions committed while this one waited for a lock (the
leads' and the messages' rows) reads it back in a statement of its own, which takes a new snapshot.
"""

from __future__ import annotations

from alembic import op

from kit.migrate import sibling

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

FUNCTION = """
CREATE OR REPLACE FUNCTION conversation.ingest_inbound_many(
    p_tenant_id uuid[], p_phone text[], p_name text[], p_at timestamptz[], p_channel_id uuid[],
    p_provider text[], p_external_id text[], p_kind text[], p_text text[], p_media text[],
    p_location text[], p_reply_id text[], p_raw text[], p_sent_at timestamptz[],
    p_blocked text[], p_leads_soft int[], p_leads_hard int[],
    p_is_opt_in boolean[], p_delay double precision[], p_max_wait double precision[],
    p_traceparent text[], p_tracestate text[]
) RETURNS TABLE (
    r_item int, r_lead_id uuid, r_lead_created boolean, r_message_id uuid, r_created boolean,
    r_conversation_id uuid, r_leads text, r_blocked text, r_scheduled boolean
) LANGUAGE plpgsql VOLATILE
-- Every row this function reads or writes is found by a key, one batch item at a time: the plan shape
-- is fixed here, not left to statistics. PL/pgSQL keeps each statement's plan for the connection's
-- life, and plans made from a small table's statistics chose, for example, a hash join over a
-- sequential scan, or the trigram index for `phone = …` (a bitmap scan, 1 ms a probe and growing),
-- and kept them while the tables grew. With these off, only plain index scans on the keys remain.
-- And since no plan depends on the values, each statement is planned once per connection: left to
-- choose, Postgres planned all of them again on every call (a custom plan knows each array's length,
-- so it always looked cheaper than the generic one), which cost more than running them for a batch
-- of one (measured: 2.9 ms of planning beside 1.3 ms of execution).
SET enable_seqscan = off SET enable_bitmapscan = off SET enable_hashjoin = off SET enable_mergejoin = off
SET plan_cache_mode = force_generic_plan
AS $fn$
DECLARE
    -- One element per item, in the items' order:
    v_lead uuid[];                      -- the item's lead
    v_lead_created boolean[];           -- the item created its lead
    v_opted_out boolean[];
    v_leads text[];                     -- the new-leads level: 'ok', 'soft' or 'hard'
    v_blocked text[];                   -- why no automatic reply ('' for none)
    v_conversation uuid[];              -- the lead's conversation
    v_owner text[];
    v_conversation_created boolean[];   -- the batch created the item's conversation
    v_message uuid[];                   -- the stored message: this item's, or the copy stored before
    v_created boolean[];                -- this item stored it
    v_message_lead uuid[];              -- the stored message's lead and conversation
    v_message_conversation uuid[];
    v_scheduled boolean[];
    -- Rows this call inserted:
    v_new_leads uuid[];
    v_new_conversations uuid[];
    v_new_messages uuid[];
BEGIN
    IF coalesce(array_length(p_tenant_id, 1), 0) = 0 THEN
        RETURN;
    END IF;

    -- Leads, each once, in lock order. The conflict branch writes only a changed name; it locks the
    -- conflicting row either way, so concurrent messages of one lead serialise here.
    WITH per_lead AS (
        SELECT i.tenant_id, i.phone,
            coalesce((array_agg(i.name ORDER BY i.item DESC) FILTER (WHERE i.name <> ''))[1],
                (array_agg(i.name ORDER BY i.item))[1]) AS name,
            count(*)::int AS messages, max(i.at) AS at
        FROM unnest(p_tenant_id, p_phone, p_name, p_at) WITH ORDINALITY AS i(tenant_id, phone, name, at, item)
        GROUP BY i.tenant_id, i.phone
    ), stored AS (
        INSERT INTO conversation.leads AS l (id, tenant_id, phone, name, last_message_at, message_count)
        SELECT gen_random_uuid(), p.tenant_id, p.phone, p.name, p.at, p.messages FROM per_lead p
        ORDER BY p.tenant_id, p.phone COLLATE "C"
        ON CONFLICT (tenant_id, phone) DO UPDATE SET name = excluded.name
        WHERE excluded.name <> '' AND excluded.name IS DISTINCT FROM l.name
        -- xmax is 0 only on a freshly inserted row version, not on one the conflict branch updated.
        RETURNING l.id, l.xmax = 0 AS created
    )
    SELECT coalesce(array_agg(s.id) FILTER (WHERE s.created), '{}') INTO v_new_leads FROM stored s;

    -- A new statement sees the leads concurrent batches committed while this one waited for them.
    SELECT array_agg(x.id ORDER BY x.item), array_agg(x.first AND x.id = ANY(v_new_leads) ORDER BY x.item),
        array_agg(x.opted_out ORDER BY x.item)
    INTO v_lead, v_lead_created, v_opted_out
    FROM (
        SELECT i.item, l.id, l.opted_out,
            i.item = min(i.item) OVER (PARTITION BY i.tenant_id, i.phone) AS first
        FROM unnest(p_tenant_id, p_phone) WITH ORDINALITY AS i(tenant_id, phone, item)
        JOIN conversation.leads l ON l.tenant_id = i.tenant_id AND l.phone = i.phone
    ) x;

    -- The day's new leads, one upsert per tenant; each new lead's level is that of its own position.
    IF true = ANY(v_lead_created) THEN
        WITH born AS (
            SELECT i.item, i.tenant_id, i.soft, i.hard,
                row_number() OVER (PARTITION BY i.tenant_id ORDER BY i.item) AS position,
                count(*) OVER (PARTITION BY i.tenant_id) AS born
            FROM unnest(p_tenant_id, v_lead_created, p_leads_soft, p_leads_hard)
                WITH ORDINALITY AS i(tenant_id, created, soft, hard, item)
            WHERE i.created
        ), counted AS (
            INSERT INTO conversation.tenant_day_counters AS d (tenant_id, day, new_leads)
            SELECT b.tenant_id, (now() AT TIME ZONE 'America/Sao_Paulo')::date, count(*) FROM born b
            GROUP BY b.tenant_id ORDER BY b.tenant_id
            ON CONFLICT (tenant_id, day) DO UPDATE SET new_leads = d.new_leads + excluded.new_leads
            RETURNING d.tenant_id, d.new_leads
        ), levels AS (
            -- Same rule as the gateway's counters: over a threshold (count > limit), not at it; 0 = off.
            SELECT b.item, CASE
                WHEN b.hard <> 0 AND c.new_leads - b.born + b.position > b.hard THEN 'hard'
                WHEN b.soft <> 0 AND c.new_leads - b.born + b.position > b.soft THEN 'soft'
                ELSE 'ok' END AS level
            FROM born b JOIN counted c ON c.tenant_id = b.tenant_id
        )
        SELECT array_agg(coalesce(v.level, 'ok') ORDER BY i.item),
            array_agg(CASE WHEN i.blocked <> '' THEN i.blocked
                WHEN v.level = 'hard' THEN 'leads_per_day_hard' ELSE '' END ORDER BY i.item)
        INTO v_leads, v_blocked
        FROM unnest(p_blocked) WITH ORDINALITY AS i(blocked, item) LEFT JOIN levels v ON v.item = i.item;
    ELSE
        v_leads := array_fill('ok'::text, ARRAY[array_length(p_tenant_id, 1)]);
        v_blocked := p_blocked;
    END IF;

    -- Conversations, one per lead: the last channel named, the latest time for a new one.
    WITH per_lead AS (
        SELECT i.tenant_id, i.lead,
            (array_agg(i.channel_id ORDER BY i.item DESC) FILTER (WHERE i.channel_id IS NOT NULL))[1]
                AS channel_id,
            max(i.at) AS at
        FROM unnest(p_tenant_id, v_lead, p_channel_id, p_at)
            WITH ORDINALITY AS i(tenant_id, lead, channel_id, at, item)
        GROUP BY i.tenant_id, i.lead
    ), stored AS (
        INSERT INTO conversation.conversations AS c (id, tenant_id, lead_id, channel_id, last_inbound_at)
        SELECT gen_random_uuid(), p.tenant_id, p.lead, p.channel_id, p.at FROM per_lead p
        ORDER BY p.tenant_id, p.lead
        ON CONFLICT (tenant_id, lead_id) DO UPDATE SET channel_id = excluded.channel_id
        WHERE excluded.channel_id IS NOT NULL AND excluded.channel_id IS DISTINCT FROM c.channel_id
        RETURNING c.id, c.xmax = 0 AS created
    )
    SELECT coalesce(array_agg(s.id) FILTER (WHERE s.created), '{}') INTO v_new_conversations FROM stored s;

    -- Each item's conversation (a new statement: it sees them all), and its message inserted, in the
    -- items' order.
    WITH found AS (
        SELECT i.*, c.id AS conversation, c.owner, c.id = ANY(v_new_conversations) AS conversation_born
        FROM unnest(p_tenant_id, v_lead, p_provider, p_external_id, p_kind, p_text, p_media, p_location,
            p_reply_id, p_raw, p_sent_at, v_blocked)
            WITH ORDINALITY AS i(tenant_id, lead, provider, external_id, kind, text, media, location,
                reply_id, raw, sent_at, blocked, item)
        JOIN conversation.conversations c ON c.tenant_id = i.tenant_id AND c.lead_id = i.lead
    ), stored AS (
        INSERT INTO conversation.messages (id, tenant_id, lead_id, conversation_id, direction, provider,
            external_id, kind, text, media, location, reply_id, raw, sent_at, auto_reply_blocked)
        SELECT gen_random_uuid(), f.tenant_id, f.lead, f.conversation, 'inbound', f.provider,
            f.external_id, f.kind, f.text, f.media::jsonb, f.location::jsonb, f.reply_id, f.raw::jsonb,
            f.sent_at, nullif(f.blocked, '')
        FROM found f ORDER BY f.item
        ON CONFLICT (tenant_id, provider, external_id) DO NOTHING
        RETURNING messages.id
    )
    SELECT array_agg(f.conversation ORDER BY f.item), array_agg(f.owner ORDER BY f.item),
        array_agg(f.conversation_born ORDER BY f.item), (SELECT coalesce(array_agg(s.id), '{}') FROM stored s)
    INTO v_conversation, v_owner, v_conversation_created, v_new_messages
    FROM found f;

    -- Every item's stored message, with a new snapshot: a copy another identity committed while this
    -- batch waited on the unique index is found too. The first of two copies in the batch stored it;
    -- a message stored now schedules a reply when nothing blocks one, the AI owns the conversation
    -- and the lead has not opted out (or opts in again with it). Then the counts: a known lead counts
    -- its stored messages, a new one was born counting them all and gives back its copies; the same
    -- for a conversation's time. Every lead of the batch is locked already.
    WITH found AS (
        SELECT i.*, m.id, m.lead_id, m.conversation_id,
            m.id = ANY(v_new_messages)
                AND i.item = min(i.item) OVER (PARTITION BY i.tenant_id, i.provider, i.external_id)
                AS created
        FROM unnest(p_tenant_id, p_provider, p_external_id, v_blocked, v_owner, v_opted_out, p_is_opt_in,
            v_lead, v_lead_created, v_conversation, v_conversation_created, p_at)
            WITH ORDINALITY AS i(tenant_id, provider, external_id, blocked, owner, opted_out, opt_in,
                lead, lead_born, conversation, conversation_born, at, item)
        JOIN conversation.messages m
            ON m.tenant_id = i.tenant_id AND m.provider = i.provider AND m.external_id = i.external_id
    ), per_lead AS (
        SELECT f.tenant_id, f.lead, bool_or(f.lead_born) AS born,
            count(*) FILTER (WHERE f.created) AS stored, count(*) FILTER (WHERE NOT f.created) AS copies,
            max(f.at) FILTER (WHERE f.created) AS at
        FROM found f GROUP BY f.tenant_id, f.lead
    ), per_conversation AS (
        SELECT f.tenant_id, f.conversation, bool_or(f.conversation_born) AS born,
            count(*) FILTER (WHERE NOT f.created) AS copies, max(f.at) FILTER (WHERE f.created) AS at
        FROM found f GROUP BY f.tenant_id, f.conversation
    ), counted_leads AS (
        UPDATE conversation.leads l
        SET message_count = CASE WHEN p.born THEN l.message_count - p.copies
                ELSE l.message_count + p.stored END,
            -- GREATEST ignores NULL and keeps a late provider retry from moving time backwards.
            last_message_at = CASE WHEN p.born THEN l.last_message_at
                ELSE greatest(l.last_message_at, p.at) END
        FROM per_lead p
        WHERE l.tenant_id = p.tenant_id AND l.id = p.lead
            AND CASE WHEN p.born THEN p.copies > 0 ELSE p.stored > 0 END
    ), timed_conversations AS (
        UPDATE conversation.conversations c
        SET last_inbound_at = CASE WHEN p.born THEN p.at ELSE greatest(c.last_inbound_at, p.at) END
        FROM per_conversation p
        WHERE c.tenant_id = p.tenant_id AND c.id = p.conversation
            AND CASE WHEN p.born THEN p.copies > 0 ELSE p.at IS NOT NULL END
    )
    SELECT array_agg(f.id ORDER BY f.item), array_agg(f.created ORDER BY f.item),
        array_agg(f.lead_id ORDER BY f.item), array_agg(f.conversation_id ORDER BY f.item),
        array_agg(f.created AND f.blocked = '' AND f.owner = 'ai' AND (NOT f.opted_out OR f.opt_in)
            ORDER BY f.item)
    INTO v_message, v_created, v_message_lead, v_message_conversation, v_scheduled
    FROM found f;

    -- One reply job per conversation, for its last message that schedules one; and the answer.
    RETURN QUERY
    WITH jobs AS (
        SELECT DISTINCT ON (i.conversation) i.tenant_id, i.conversation, i.lead, i.message, i.delay,
            i.max_wait, i.traceparent, i.tracestate
        FROM unnest(p_tenant_id, v_conversation, v_lead, v_message, v_scheduled, p_delay, p_max_wait,
            p_traceparent, p_tracestate) WITH ORDINALITY AS i(tenant_id, conversation, lead, message,
            scheduled, delay, max_wait, traceparent, tracestate, item)
        WHERE i.scheduled
        ORDER BY i.conversation, i.item DESC
    ), queued AS (
        INSERT INTO conversation.reply_jobs AS j (id, tenant_id, conversation_id, lead_id, status,
            run_after, burst_started_at, last_message_id, traceparent, tracestate)
        SELECT gen_random_uuid(), b.tenant_id, b.conversation, b.lead, 'queued',
            now() + make_interval(secs => b.delay), now(), b.message, b.traceparent, b.tracestate
        FROM jobs b ORDER BY b.conversation
        ON CONFLICT (conversation_id) WHERE status IN ('queued', 'retry_wait') DO UPDATE SET
            status = 'queued',
            -- A job waiting for the model (retry_wait) is woken: the new message deserves a try now.
            -- excluded.run_after is now() plus the debounce delay.
            run_after = CASE WHEN j.status = 'retry_wait' THEN excluded.run_after
                ELSE least(excluded.run_after, j.burst_started_at + make_interval(secs => (
                    SELECT w.max_wait FROM unnest(v_conversation, p_max_wait) AS w(conversation, max_wait)
                    WHERE w.conversation = j.conversation_id LIMIT 1))) END,
            burst_started_at = CASE WHEN j.status = 'retry_wait' THEN now() ELSE j.burst_started_at END,
            last_message_id = excluded.last_message_id, traceparent = excluded.traceparent,
            tracestate = excluded.tracestate, updated_at = now()
    )
    SELECT x.item::int, x.lead, x.lead_created, x.message, x.created, x.conversation, x.leads, x.blocked,
        x.scheduled
    FROM unnest(v_message_lead, v_lead_created, v_message, v_created, v_message_conversation, v_leads,
        v_blocked, v_scheduled) WITH ORDINALITY AS x(lead, lead_created, message, created, conversation,
        leads, blocked, scheduled, item);
END
$fn$
"""


def upgrade() -> None:
    op.execute(FUNCTION)
    # Only 0006's batch function called it.
    op.execute(f"DROP FUNCTION {sibling(__file__, '0005_ingest_function.py').SIGNATURE}")


def downgrade() -> None:
    op.execute(sibling(__file__, "0007_ingest_fewer_writes.py").FUNCTION)
    loop = str(sibling(__file__, "0006_ingest_many.py").FUNCTION)
    op.execute(loop.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
