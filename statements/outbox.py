"""The statement emails' outbox: `dispatch` after the commit, `email_send` per row, and
`emails_sweep` (beat) for what a worker did not send.

Sending is claim -> send -> mark: the claim (`claimed_at`, `attempts`) commits before the
message leaves, the mark (`sent_at`) after. A task that runs twice finds the row sent, or
claimed and locked, and sends nothing. A worker that dies between send and mark leaves a
claimed row; the sweep takes it again only once the claim is older than
`STATEMENT_EMAIL_CLAIM_TIMEOUT_S`, with the same `Message-ID` header, so the recipient's
mail system shows one message. A send that fails (SMTP error) releases the claim and
records the error; rows stop after `STATEMENT_EMAIL_MAX_ATTEMPTS`.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from core.i18n import language_of
from core.mail import header_safe
from statements import formats, render
from statements.models import StatementEmail

logger = logging.getLogger("commonwatt.statements")


def dispatch(statement_ids: list[int]) -> None:
    from statements.tasks import statement_email_send_task

    for row_id in StatementEmail.objects.filter(statement_id__in=statement_ids).values_list("pk", flat=True):
        try:
            statement_email_send_task.delay(row_id)
        except Exception:  # broker down: the beat sweep sends it later
            logger.warning("statement email not queued; the sweep will send it", extra={"id": row_id})


def _claimable(now) -> Q:
    stale = now - timedelta(seconds=settings.STATEMENT_EMAIL_CLAIM_TIMEOUT_S)
    return Q(sent_at__isnull=True) & (Q(claimed_at__isnull=True) | Q(claimed_at__lte=stale))


def email_send(*, row_id: int) -> bool:
    """Sends one outbox row unless it is sent or claimed by a live worker; True when sent now."""
    now = timezone.now()
    with transaction.atomic():
        row = (StatementEmail.objects.select_for_update(skip_locked=True)
               .filter(_claimable(now), pk=row_id).first())
        if row is None:
            return False
        row.claimed_at = now
        row.attempts += 1
        row.save(update_fields=["claimed_at", "attempts"])
    try:
        _message(row).send()
    except Exception as exc:
        StatementEmail.objects.filter(pk=row.pk).update(
            claimed_at=None, last_error=f"{type(exc).__name__}: {exc}"[:2000])
        logger.warning("statement email failed", extra={"id": row.pk, "attempts": row.attempts})
        return False
    StatementEmail.objects.filter(pk=row.pk).update(sent_at=timezone.now(), last_error="")
    return True


def emails_sweep(*, older_than_s: int | None = None) -> int:
    """Sends unsent rows older than `older_than_s` (the task normally got them first)."""
    now = timezone.now()
    age = settings.STATEMENT_EMAIL_SWEEP_AFTER_S if older_than_s is None else older_than_s
    ids = list(StatementEmail.objects.filter(
        _claimable(now), attempts__lt=settings.STATEMENT_EMAIL_MAX_ATTEMPTS,
        created_at__lte=now - timedelta(seconds=age),
    ).order_by("created_at").values_list("pk", flat=True)[:500])
    return sum(email_send(row_id=row_id) for row_id in ids)


def _message(row: StatementEmail) -> EmailMessage:
    statement = row.statement
    data = statement.data
    site = settings.SITE_URL.rstrip("/")
    with translation.override(language_of(statement.user)):  # in the recipient's language
        context = {"data": data, "name": data["member"]["name"],
                   "period": formats.month(data["period"]["month"]),
                   "community": data["community"]["name"],
                   "total": formats.money(data["totals"]["amount_eur"]),
                   "currency": data["community"].get("currency", "EUR"),
                   "link": f"{site}/statements/{statement.pk}/"}
        subject = header_safe(render_to_string("statements/email/statement_subject.txt", context))
        body = render_to_string("statements/email/statement_message.txt", context)
        pdf_bytes = render.statement_pdf(data)
    message = EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [row.email],
                           headers={"Message-ID": row.message_id})
    message.attach(f"{statement.number}.pdf", pdf_bytes, "application/pdf")
    return message
