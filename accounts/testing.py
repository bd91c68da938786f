"""Test helper: what the Celery worker would do with the account emails' outbox."""


def deliver_account_emails() -> int:
    """Sends every unsent account email now (the task's and the beat sweep's work)."""
    from accounts.outbox import emails_sweep

    return emails_sweep(older_than_s=0)
