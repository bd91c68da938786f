"""GDPR export: a ZIP of JSON and CSV with everything held about a person (privacy.exporters).

`export_request` writes the job (and, for staff running it for someone they manage, an audit
row) and queues the Celery task after the commit; `export_build` writes the ZIP under
`PRIVACY_EXPORT_DIR` and emails the requester a signed, expiring link. The link is bound to
the job and to the requester: downloading needs both the token and being signed in as the
person who asked (a forwarded link is useless). Files are deleted after
`PRIVACY_EXPORT_RETENTION_DAYS` (beat task `privacy_retention`).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import secrets
import zipfile
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.exceptions import Conflict, Invalid, NotFound
from core.mail import header_safe
from core.scoping import get_manageable
from privacy.exporters import EXPORTERS
from privacy.models import ExportJob, JobStatus

logger = logging.getLogger("commonwatt.privacy")
_SALT = "privacy.export-download"


@transaction.atomic
def export_request(*, actor: User, subject: User | None = None) -> ExportJob:
    """Queues an export of `subject` (default: the actor). Staff may export a person they
    manage (audited); anyone else is `NotFound` (outside scope) or `Forbidden`."""
    import audit

    subject = subject or actor
    if subject.pk != actor.pk:
        subject = get_manageable(User.objects.all(), actor, message=_("You may not export this person."),
                                 pk=subject.pk)
    running = ExportJob.objects.filter(subject=subject, requested_by=actor,
                                       status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).first()
    if running is not None:
        raise Conflict(_("An export is already being prepared."), details={"job": running.pk})
    job = ExportJob.objects.create(subject=subject, requested_by=actor)
    if subject.pk != actor.pk:
        audit.record(actor=actor, action="gdpr.export", obj=job, target_user=subject)
    transaction.on_commit(lambda: _queue(job.pk))
    return job


def _queue(job_id: int) -> None:
    from privacy.tasks import export_build_task

    try:
        export_build_task.delay(job_id)
    except Exception:  # broker down: the beat sweep builds it later
        logger.warning("export not queued; the sweep will build it", extra={"job": job_id})


def _cell(value):
    if isinstance(value, dict | list):
        return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)
    return "" if value is None else value


def _write(archive: zipfile.ZipFile, name: str, rows, with_json: bool) -> int:
    text = io.StringIO()
    writer = None
    kept = [] if with_json else None
    count = 0
    for row in rows:
        row = dict(row)
        if writer is None:
            writer = csv.DictWriter(text, fieldnames=list(row))
            writer.writeheader()
        writer.writerow({k: _cell(v) for k, v in row.items()})
        if kept is not None:
            kept.append(row)
        count += 1
    archive.writestr(f"{name}.csv", text.getvalue())
    if kept is not None:
        archive.writestr(f"{name}.json", json.dumps(kept, cls=DjangoJSONEncoder, ensure_ascii=False,
                                                    indent=1))
    return count


def export_path(job: ExportJob) -> Path:
    return Path(settings.PRIVACY_EXPORT_DIR) / job.file_name


def export_build(*, job_id: int) -> bool:
    """Builds the ZIP of one queued job and mails the link; False when nothing to do."""
    with transaction.atomic():
        job = ExportJob.objects.select_for_update(skip_locked=True).filter(
            pk=job_id, status=JobStatus.QUEUED).first()
        if job is None:
            return False
        job.status = JobStatus.RUNNING
        job.save(update_fields=["status"])
    try:
        directory = Path(settings.PRIVACY_EXPORT_DIR)
        directory.mkdir(parents=True, exist_ok=True)
        job.file_name = f"export-{job.pk}-{secrets.token_hex(8)}.zip"
        counts = {}
        with zipfile.ZipFile(export_path(job), "w", zipfile.ZIP_DEFLATED) as archive:
            for exporter in EXPORTERS.values():
                counts[exporter.name] = _write(archive, exporter.name, exporter.rows(job.subject),
                                               exporter.json)
            archive.writestr("README.txt", render_to_string("privacy/export_readme.txt",
                                                            {"counts": counts, "job": job}))
    except Exception as exc:
        logger.exception("export failed", extra={"job": job.pk})
        ExportJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, error=type(exc).__name__,
                                                   finished_at=timezone.now())
        return False
    job.status, job.finished_at = JobStatus.DONE, timezone.now()
    job.size_bytes = export_path(job).stat().st_size
    job.save(update_fields=["status", "finished_at", "size_bytes", "file_name"])
    _mail_link(job)
    return True


def download_token(job: ExportJob) -> str:
    return signing.dumps({"job": job.pk, "user": job.requested_by_id}, salt=_SALT)


def download_url(job: ExportJob) -> str:
    return (f"{settings.SITE_URL.rstrip('/')}/api/v1/users/profile/export/{job.pk}/download"
            f"?token={download_token(job)}")


def _mail_link(job: ExportJob) -> None:
    requester = job.requested_by
    context = {"job": job, "link": download_url(job),
               "hours": settings.PRIVACY_EXPORT_LINK_MAX_AGE_S // 3600}
    subject = header_safe(render_to_string("privacy/export_ready_subject.txt", context))
    send_mail(subject, render_to_string("privacy/export_ready_message.txt", context),
              settings.DEFAULT_FROM_EMAIL, [requester.email])


def export_for_download(*, actor: User, job_id: int, token: str) -> ExportJob:
    """The finished job whose file `actor` may download with `token`; NotFound otherwise
    (a token for another job or person, an expired one, or someone else's job)."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=settings.PRIVACY_EXPORT_LINK_MAX_AGE_S)
    except signing.BadSignature:
        raise Invalid(_("The link is invalid or has expired."), error="InvalidToken",
                      details={"token": [_("The link is invalid or has expired.")]}) from None
    if data.get("job") != job_id or data.get("user") != actor.pk:
        raise NotFound()
    job = ExportJob.objects.visible_to(actor).filter(pk=job_id, status=JobStatus.DONE).first()
    if job is None or not export_path(job).exists():
        raise NotFound()
    return job


def export_get(*, actor: User, job_id: int) -> ExportJob:
    job = ExportJob.objects.visible_to(actor).filter(pk=job_id).first()
    if job is None:
        raise NotFound()
    return job


def exports_sweep(*, older_than_s: int = 120) -> int:
    """Queues jobs still `queued` after `older_than_s` (the broker was down)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    ids = list(ExportJob.objects.filter(status=JobStatus.QUEUED, created_at__lte=cutoff)
               .values_list("pk", flat=True)[:50])
    return sum(export_build(job_id=pk) for pk in ids)
