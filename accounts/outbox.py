"""The account emails' outbox: enqueue in the request, send from Celery (accounts.tasks).

`email_enqueue` writes one `AccountEmail` row in the caller's transaction and, after the
commit, hands its id to the Celery task; `email_send` sends one row exactly once (row lock,
`sent_at`); `emails_sweep` (beat) retries rows the task did not send. A sender that fails
leaves the row unsent with `attempts` and `last_error`, so one bad message never blocks
the others.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import emails
from accounts.models import AccountEmail, AccountEmailKind, Role, User, UserStatus, UserType

logger = logging.getLogger("commonwatt.accounts")


def email_enqueue(*, kind: str, email: str, user: User | None = None,
                  payload: dict | None = None) -> AccountEmail:
    row = AccountEmail.objects.create(kind=kind, email=email, user=user, payload=payload or {})
    transaction.on_commit(lambda: _dispatch(row.pk))
    return row


def _dispatch(row_id: int) -> None:
    from accounts.tasks import account_email_send_task

    try:
        account_email_send_task.delay(row_id)
    except Exception:  # broker down: the beat sweep sends it later
        logger.warning("account email not queued; the sweep will send it", extra={"id": row_id})


def email_send(*, row_id: int) -> bool:
    """Sends one outbox row if it is still unsent; True when it was sent now."""
    with transaction.atomic():
        row = (AccountEmail.objects.select_for_update(skip_locked=True)
               .filter(pk=row_id, sent_at__isnull=True).first())
        if row is None:
            return False
        try:
            with transaction.atomic():
                _deliver(row)
        except Exception as exc:
            row.attempts += 1
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            row.save(update_fields=["attempts", "last_error"])
            logger.warning("account email failed", extra={"id": row.pk, "kind": row.kind,
                                                          "attempts": row.attempts})
            return False
        row.sent_at = timezone.now()
        row.payload = {}
        row.save(update_fields=["sent_at", "payload", "user"])
        return True


def emails_sweep(*, older_than_s: int | None = None) -> int:
    """Sends unsent rows older than `older_than_s` (the task normally got them first)."""
    age = settings.ACCOUNT_EMAIL_SWEEP_AFTER_S if older_than_s is None else older_than_s
    ids = list(AccountEmail.objects.filter(
        sent_at__isnull=True, attempts__lt=settings.ACCOUNT_EMAIL_MAX_ATTEMPTS,
        created_at__lte=timezone.now() - timedelta(seconds=age),
    ).order_by("created_at").values_list("pk", flat=True)[:500])
    return sum(email_send(row_id=row_id) for row_id in ids)


def _active_real_user(email: str) -> User | None:
    return User.objects.filter(email__iexact=email, is_active=True, user_type=UserType.REAL).first()


def _deliver(row: AccountEmail) -> None:
    kind = row.kind
    if kind == AccountEmailKind.REGISTER:
        _deliver_register(row)
    elif kind == AccountEmailKind.PASSWORD_RESET:
        user = _active_real_user(row.email)
        if user is not None:  # nothing to send otherwise: the answer was already the same
            emails.send_password_reset(user.pk)
    elif kind == AccountEmailKind.INVITATION:
        emails.send_password_reset(row.user_id, invitation=True)
    elif kind == AccountEmailKind.LOGIN_LINK:
        user = _active_real_user(row.email)
        if user is not None:
            emails.send_login_link(user.pk)
    elif kind == AccountEmailKind.RENDERED:
        message = EmailMultiAlternatives(row.payload["subject"], row.payload["body"],
                                         row.payload.get("from_email"), [row.email])
        for content, mimetype in row.payload.get("alternatives", []):
            message.attach_alternative(content, mimetype)
        message.send()
    else:
        raise ValueError(f"unknown account email kind {kind!r}")


def _deliver_register(row: AccountEmail) -> None:
    """Creates the account and sends the verification link; if an account already has the
    address, tells its owner instead (they may have forgotten they signed up)."""
    from accounts.services import email_address_sync, signup_created, unique_username

    if row.user_id is None:
        existing = User.objects.filter(email__iexact=row.email).first()
        if existing is not None:
            emails.send_already_registered(existing.pk)
            return
        user = User(email=row.email, full_name=row.payload.get("full_name", ""), role=Role.USER,
                    status=UserStatus.ACTIVE, is_verified=False, password=row.payload["password"])
        try:
            with transaction.atomic():
                user.username = unique_username(row.email.split("@")[0])
                user.save()
                signup_created(user=user, payload=row.payload)
        except IntegrityError:  # the same address signed up twice at once
            existing = User.objects.get(email__iexact=row.email)
            emails.send_already_registered(existing.pk)
            return
        email_address_sync(user=user)
        row.user = user
    emails.send_verify_email(row.user_id)
