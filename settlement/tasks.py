"""Celery tasks of the settlement: thin wrappers over services."""

from datetime import date

from celery import shared_task

DRAFT_MONTH_TASK = "settlement.tasks.settlement_draft_month_task"


def previous_month(today: date) -> date:
    return date(today.year - 1, 12, 1) if today.month == 1 else date(today.year, today.month - 1, 1)


@shared_task(name=DRAFT_MONTH_TASK)
def settlement_draft_month_task(month: str | None = None) -> dict:
    """Draft `month` (YYYY-MM, default: the previous month) for every active community."""
    from django.utils import timezone

    from settlement.services import settlement_draft_all

    if month:
        year, mon = month.split("-")
        target = date(int(year), int(mon), 1)
    else:
        target = previous_month(timezone.localdate())
    return settlement_draft_all(month=target)
