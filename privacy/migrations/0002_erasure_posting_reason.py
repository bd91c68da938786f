"""GDPR erasure may rewrite one column of the append-only ledger: a posting's free-text
`reason` (the person may have written it). billing's trigger still refuses every other
UPDATE and every DELETE; the exception holds only in a transaction that set
`commonwatt.erasure` (privacy.erasure does, for itself) and only when nothing but `reason`
changes."""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION billing_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'billing_posting'
       AND current_setting('commonwatt.erasure', true) = 'on'
       AND (to_jsonb(NEW) - 'reason') = (to_jsonb(OLD) - 'reason') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'billing: % is append-only (% refused); post a correction instead',
        TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
"""

BACKWARD = r"""
CREATE OR REPLACE FUNCTION billing_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'billing: % is append-only (% refused); post a correction instead',
        TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
"""


class Migration(migrations.Migration):
    dependencies = [("privacy", "0001_initial"), ("billing", "0002_ledger_triggers")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
