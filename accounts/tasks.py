"""Celery tasks of accounts: thin wrappers over the outbox and the retention services."""

from celery import shared_task

EMAIL_SEND_TASK = "accounts.tasks.account_email_send_task"
EMAILS_SWEEP_TASK = "accounts.tasks.account_emails_sweep_task"
RETENTION_TASK = "accounts.tasks.auth_retention_task"


@shared_task(name=EMAIL_SEND_TASK)
def account_email_send_task(row_id: int) -> bool:
    from accounts.outbox import email_send

    return email_send(row_id=row_id)


@shared_task(name=EMAILS_SWEEP_TASK)
def account_emails_sweep_task() -> int:
    from accounts.outbox import emails_sweep

    return emails_sweep()


@shared_task(name=RETENTION_TASK)
def auth_retention_task() -> dict:
    from accounts.retention import auth_retention_run

    return auth_retention_run()
