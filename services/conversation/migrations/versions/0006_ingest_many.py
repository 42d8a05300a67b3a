"""conversation.ingest_inbound_many(): many lead messages in one round trip and one transaction.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25

The gateway batches the messages of concurrent webhooks into one IngestBatch call. This function runs
migration 0005's conversation.ingest_inbound() for each of them, in the arrays' order, inside the
caller's transaction, and tags every result row with its item's 1-based position. Each array holds
one element per message; the JSON columns come as text (NULL for none) and are cast here.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SIGNATURE = (
    "conversation.ingest_inbound_many(uuid[], text[], text[], timestamptz[], uuid[], text[], text[],"
    " text[], text[], text[], text[], text[], text[], timestamptz[], text[], int[], int[], boolean[],"
    " double precision[], double precision[], text[], text[])"
)

FUNCTION = """
CREATE FUNCTION conversation.ingest_inbound_many(
    p_tenant_id uuid[], p_phone text[], p_name text[], p_at timestamptz[], p_channel_id uuid[],
    p_provider text[], p_external_id text[], p_kind text[], p_text text[], p_media text[],
    p_location text[], p_reply_id text[], p_raw text[], p_sent_at timestamptz[],
    p_blocked text[], p_leads_soft int[], p_leads_hard int[],
    p_is_opt_in boolean[], p_delay double precision[], p_max_wait double precision[],
    p_traceparent text[], p_tracestate text[]
) RETURNS TABLE (
    r_item int, r_lead_id uuid, r_lead_created boolean, r_message_id uuid, r_created boolean,
    r_conversation_id uuid, r_leads text, r_blocked text, r_scheduled boolean
) LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_tenant_id, 1), 0) LOOP
        RETURN QUERY SELECT i, f.* FROM conversation.ingest_inbound(
            p_tenant_id[i], p_phone[i], p_name[i], p_at[i], p_channel_id[i], p_provider[i],
            p_external_id[i], p_kind[i], p_text[i], p_media[i]::jsonb, p_location[i]::jsonb,
            p_reply_id[i], p_raw[i]::jsonb, p_sent_at[i], p_blocked[i], p_leads_soft[i],
            p_leads_hard[i], p_is_opt_in[i], p_delay[i], p_max_wait[i], p_traceparent[i],
            p_tracestate[i]) f;
    END LOOP;
END
$fn$
"""


def upgrade() -> None:
    op.execute(FUNCTION)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SIGNATURE}")
