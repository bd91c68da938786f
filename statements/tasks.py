"""Celery tasks of statements: thin wrappers over the outbox."""

from celery import shared_task

EMAIL_SEND_TASK = "statements.tasks.statement_email_send_task"
EMAILS_SWEEP_TASK = "statements.tasks.statement_emails_sweep_task"


@shared_task(name=EMAIL_SEND_TASK)
def statement_email_send_task(row_id: int) -> bool:
    from statements.outbox import email_send

    return email_send(row_id=row_id)


@shared_task(name=EMAILS_SWEEP_TASK)
def statement_emails_sweep_task() -> int:
    from statements.outbox import emails_sweep

    return emails_sweep()
