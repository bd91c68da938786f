"""The account emails' outbox: one failing message neither blocks the others nor is lost."""

import pytest
from django.core import mail

from accounts.models import AccountEmail
from accounts.outbox import email_send, emails_sweep
from conftest import make_user

pytestmark = pytest.mark.django_db


def test_a_failing_email_does_not_block_the_others_and_is_retried(api, settings):
    make_user("ok@example.com")
    broken = AccountEmail.objects.create(kind="no-such-kind", email="x@example.com")
    api.post("/api/v1/auth/password-reset-request", {"email": "ok@example.com"}, format="json")
    assert emails_sweep(older_than_s=0) == 1
    assert [m.to for m in mail.outbox] == [["ok@example.com"]]
    broken.refresh_from_db()
    assert broken.sent_at is None and broken.attempts == 1 and "unknown" in broken.last_error
    emails_sweep(older_than_s=0)
    broken.refresh_from_db()
    assert broken.attempts == 2
    settings.ACCOUNT_EMAIL_MAX_ATTEMPTS = 2
    assert emails_sweep(older_than_s=0) == 0  # given up after the configured attempts
    broken.refresh_from_db()
    assert broken.attempts == 2


def test_a_row_is_sent_once(api):
    make_user("once@example.com")
    api.post("/api/v1/auth/password-reset-request", {"email": "once@example.com"}, format="json")
    row = AccountEmail.objects.get()
    assert email_send(row_id=row.pk) is True
    assert email_send(row_id=row.pk) is False
    assert len(mail.outbox) == 1
    row.refresh_from_db()
    assert row.sent_at is not None and row.payload == {}


def test_a_sign_up_keeps_no_password_hash_once_sent(api):
    api.post("/api/v1/auth/register", {"email": "hash@example.com", "password": "Sunny-Meadow-42!"},
             format="json")
    row = AccountEmail.objects.get()
    assert row.payload["password"].startswith(("md5$", "pbkdf2"))  # a hash, never the password
    emails_sweep(older_than_s=0)
    row.refresh_from_db()
    assert row.payload == {} and row.user.email == "hash@example.com"
