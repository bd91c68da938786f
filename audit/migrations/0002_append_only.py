"""The audit log is append-only in the database: UPDATE and DELETE raise, whoever runs
them (admin, shell, raw SQL). TRUNCATE (the test runner's flush only) is table-level.

The one exception is retention (privacy.retention): a DELETE of a row older than the
cutoff the transaction set in `commonwatt.audit_delete_before`, and never of a row younger
than a year, whatever the cutoff says."""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$
DECLARE
    cutoff text := current_setting('commonwatt.audit_delete_before', true);
BEGIN
    IF TG_OP = 'DELETE' AND cutoff IS NOT NULL AND cutoff <> ''
       AND OLD.created_at < cutoff::timestamptz
       AND OLD.created_at < now() - interval '365 days' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit: % is append-only (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
