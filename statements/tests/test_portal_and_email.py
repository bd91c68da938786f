"""The portal's statement pages and home card, and the statement emails: queued with the
statements, sent once (task twice, worker dying between send and mark), PDF attached,
through a real Celery worker."""

import time
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from statements.models import Statement, StatementEmail
from statements.outbox import email_send, emails_sweep


def _client(user, language="en"):
    c = Client(HTTP_ACCEPT_LANGUAGE=language)
    c.force_login(user)
    return c


def test_the_portal_lists_and_shows_a_members_statement(posted):
    a = posted.world.a
    mine = Statement.objects.get(user=a.other_member)
    theirs = Statement.objects.get(user=a.member)
    client = _client(a.other_member)
    page = client.get("/statements/").content.decode()
    assert f"/statements/{mine.pk}/" in page and f"/statements/{theirs.pk}/" not in page
    assert "/api/v1/billing/reports/community/" not in page  # reports are the referent's
    detail = client.get(f"/statements/{mine.pk}/")
    assert detail.status_code == 200
    assert f"{mine.total_eur:,.2f}" in detail.content.decode()
    assert "<script" not in detail.content.decode().split("</header>")[-1].split("<footer")[0]
    assert client.get(f"/statements/{theirs.pk}/").status_code == 404
    assert _client(posted.world.b.member).get(f"/statements/{mine.pk}/").status_code == 404


def test_the_portal_speaks_italian_with_italian_numbers(posted):
    a = posted.world.a
    mine = Statement.objects.get(user=a.other_member)
    html = _client(a.other_member, "it").get(f"/statements/{mine.pk}/").content.decode()
    assert "743,00" in html and f"{mine.total_eur:.2f}".replace(".", ",") in html
    assert "Totale" in html and "Scarica il PDF" in html


def test_the_referent_gets_the_report_links(posted):
    page = _client(posted.world.a.referent).get("/statements/").content.decode()
    assert f"/api/v1/billing/reports/community/{posted.run.pk}/xlsx" in page
    assert f"/api/v1/billing/reports/yearly/{posted.world.a.community.pk}/2025/pdf" in page


def test_the_home_card_appears_only_with_a_statement(world):
    home = _client(world.a.other_member).get("/").content.decode()
    assert 'data-card="last_statement"' not in home


def test_the_home_card_shows_the_last_statement(posted):
    mine = Statement.objects.get(user=posted.world.a.other_member)
    home = _client(posted.world.a.other_member).get("/").content.decode()
    assert 'data-card="last_statement"' in home and f"/statements/{mine.pk}/" in home


def test_each_statement_has_one_email_sent_once_with_its_pdf(posted):
    rows = list(StatementEmail.objects.select_related("statement"))
    assert len(rows) == 2 and all(r.sent_at is None for r in rows)
    row = rows[0]
    assert email_send(row_id=row.pk) is True
    assert email_send(row_id=row.pk) is False  # the task running twice sends nothing more
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [row.statement.user.email]
    assert message.extra_headers["Message-ID"] == row.message_id
    (name, content, mimetype), = message.attachments
    assert name == f"{row.statement.number}.pdf" and mimetype == "application/pdf"
    assert content.startswith(b"%PDF-")
    assert emails_sweep(older_than_s=0) == 1  # the other one
    assert emails_sweep(older_than_s=0) == 0 and len(mail.outbox) == 2


class WorkerKilled(BaseException):
    """Stands for the worker process dying (SIGKILL): not an error the sender catches."""


class DyingAfterSendBackend:
    """A real locmem delivery, then the worker dies before it can mark the row sent."""

    def __init__(self, *args, **kwargs):
        from django.core.mail.backends.locmem import EmailBackend

        self._backend = EmailBackend(*args, **kwargs)

    def send_messages(self, messages):
        self._backend.send_messages(messages)
        raise WorkerKilled


def test_a_worker_dying_between_send_and_mark_does_not_send_twice_while_claimed(posted, settings):
    row = StatementEmail.objects.first()
    settings.EMAIL_BACKEND = f"{__name__}.DyingAfterSendBackend"
    with pytest.raises(WorkerKilled):
        email_send(row_id=row.pk)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    row.refresh_from_db()
    assert row.claimed_at is not None and row.sent_at is None and len(mail.outbox) == 1
    # the task retried, or the sweep, while the claim is fresh: nothing more leaves
    assert email_send(row_id=row.pk) is False
    assert emails_sweep(older_than_s=0) == 1  # (the other statement's row only)
    assert len(mail.outbox) == 2
    # the claim expires: the one resend carries the same Message-ID (mail systems collapse it)
    StatementEmail.objects.filter(pk=row.pk).update(
        claimed_at=timezone.now() - timedelta(seconds=settings.STATEMENT_EMAIL_CLAIM_TIMEOUT_S + 1))
    assert emails_sweep(older_than_s=0) == 1
    assert emails_sweep(older_than_s=0) == 0
    ids = [m.extra_headers["Message-ID"] for m in mail.outbox if m.to == [row.email]]
    assert ids == [row.message_id, row.message_id]


def test_a_failing_send_releases_the_claim_and_is_retried(posted, settings):
    row = StatementEmail.objects.first()
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1  # nothing listens there
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert email_send(row_id=row.pk) is False
    row.refresh_from_db()
    assert row.sent_at is None and row.claimed_at is None and row.attempts == 1 and row.last_error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert email_send(row_id=row.pk) is True


@pytest.fixture
def default_worker(transactional_db, settings):
    """A real Celery worker (thread) on this test's default queue."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_declare(queue=settings.CELERY_TASK_DEFAULT_QUEUE, durable=True,
                                           auto_delete=False)
        conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)
    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING",
                      queues=[settings.CELERY_TASK_DEFAULT_QUEUE],
                      hostname=f"statements-{settings.CELERY_TASK_DEFAULT_QUEUE}@test"):
        yield app


def test_posting_a_run_emails_every_member_through_celery(world, as_user, default_worker):
    from settlement.tests.conftest import make_settled
    from statements.tests.conftest import post_month

    post_month(world, as_user, make_settled(world))
    deadline = time.monotonic() + 60
    while StatementEmail.objects.filter(sent_at__isnull=True).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert StatementEmail.objects.filter(sent_at__isnull=True).count() == 0
    statements = [m for m in mail.outbox if any(a[0].endswith(".pdf") for a in m.attachments)]
    assert sorted(m.to[0] for m in statements) == sorted([world.a.member.email, world.a.other_member.email])
    # besides, only the referent heard of the draft (settlement_approval, by email)
    assert [m.to[0] for m in mail.outbox if m not in statements] == [world.a.referent.email]


def test_numbers_follow_the_language_with_thousands(posted):
    producer = Statement.objects.get(user=posted.world.a.member)
    injected = producer.data["energy"]["injected_kwh"]
    assert injected == "1486.000"  # 2 kWh an hour for 743 hours
    italian = _client(posted.world.a.member, "it").get(f"/statements/{producer.pk}/").content.decode()
    english = _client(posted.world.a.member, "en").get(f"/statements/{producer.pk}/").content.decode()
    assert "1.486,00" in italian and "1,486.00" not in italian
    assert "1,486.00" in english and "1.486,00" not in english
    from django.utils import translation

    from statements import formats

    with translation.override("it"):
        assert formats.money("1234.56") == "1.234,56" and formats.money("-1234.5") == "-1.234,50"
    with translation.override("en"):
        assert formats.money("1234.56") == "1,234.56"


def test_the_email_is_in_the_recipients_language(posted):
    a = posted.world.a
    a.other_member.preferences = {**(a.other_member.preferences or {}), "language": "it"}
    a.other_member.save(update_fields=["preferences"])
    row = StatementEmail.objects.get(statement__user=a.other_member)
    assert email_send(row_id=row.pk) is True
    message = mail.outbox[0]
    assert message.subject.lower().startswith("il tuo rendiconto di marzo 2025")
    total = f"{row.statement.total_eur:.2f}".replace(".", ",")
    assert f"Il tuo totale del mese è {total} EUR" in message.body
    assert f"/statements/{row.statement.pk}/" in message.body
