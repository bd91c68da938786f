"""Retention of expired credentials and sent account emails (beat task, `auth_retention`).

Expired refresh tokens (and their blacklist rows), expired sessions and sent outbox rows
are kept `AUTH_RETENTION_DAYS` / `ACCOUNT_EMAIL_RETENTION_DAYS` after they stopped
mattering (useful to investigate an incident), then deleted.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone


@transaction.atomic
def auth_retention_run(*, now=None) -> dict:
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    from accounts.models import AccountEmail

    now = now or timezone.now()
    credentials_before = now - timedelta(days=settings.AUTH_RETENTION_DAYS)
    emails_before = now - timedelta(days=settings.ACCOUNT_EMAIL_RETENTION_DAYS)
    tokens, _ = OutstandingToken.objects.filter(expires_at__lt=credentials_before).delete()
    sessions, _ = Session.objects.filter(expire_date__lt=credentials_before).delete()
    emails, _ = AccountEmail.objects.filter(created_at__lt=emails_before).delete()
    return {"tokens": tokens, "sessions": sessions, "account_emails": emails}
