"""Retention of the privacy app's data (beat task `privacy_retention`, README's table).

- export archives: the file and its job row, `PRIVACY_EXPORT_RETENTION_DAYS` after the job;
- API keys revoked or expired more than `AUTH_RETENTION_DAYS` ago: deleted unless the audit
  log refers to them (it never changes, so ids stay meaningful there);
- the audit log: rows older than `AUDIT_RETENTION_DAYS` (ten years by default, the Italian
  retention period of accounting records). These are the only rows ever removed from it: the
  append-only trigger lets a DELETE through only for rows older than the cutoff this job
  sets for its own transaction, and never for rows younger than a year.
"""

from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone


@transaction.atomic
def privacy_retention_run(*, now=None) -> dict:
    from privacy.export import export_path
    from privacy.models import ApiKey, ExportJob

    now = now or timezone.now()
    exports = 0
    exports_before = now - timedelta(days=settings.PRIVACY_EXPORT_RETENTION_DAYS)
    for job in ExportJob.objects.filter(created_at__lt=exports_before):
        if job.file_name:
            export_path(job).unlink(missing_ok=True)
        job.delete()
        exports += 1
    dead_before = now - timedelta(days=settings.AUTH_RETENTION_DAYS)
    keys, _ = ApiKey.objects.filter(Q(revoked_at__lt=dead_before) | Q(expires_at__lt=dead_before)).delete()
    with connection.cursor() as cursor:
        cutoff = now - timedelta(days=settings.AUDIT_RETENTION_DAYS)
        cursor.execute("SELECT set_config('commonwatt.audit_delete_before', %s, true)",
                       [cutoff.isoformat()])
        cursor.execute("DELETE FROM audit_auditevent WHERE created_at < %s", [cutoff])
        audit_rows = cursor.rowcount
        cursor.execute("SELECT set_config('commonwatt.audit_delete_before', '', true)")
    return {"exports": exports, "api_keys": keys, "audit_events": audit_rows}
