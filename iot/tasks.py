"""Celery tasks of the device/ingest side: thin wrappers over services."""

from celery import shared_task
from django.conf import settings

from iot.ingest.partitions import partitions_ensure

PARTITIONS_TASK = "iot.tasks.partitions_ensure_task"


@shared_task(name=PARTITIONS_TASK)
def partitions_ensure_task() -> dict:
    report = partitions_ensure(months_ahead=settings.IOT_PARTITIONS_MONTHS_AHEAD)
    return {"created": report.created, "moved_rows": report.moved_rows}


def beat_tasks_ensure() -> None:
    """Register the daily partition task in django-celery-beat (as migration 0004 does)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every_day, _ = IntervalSchedule.objects.get_or_create(every=1, period="days")
    PeriodicTask.objects.get_or_create(
        name="iot: create monthly reading partitions ahead",
        defaults={"task": PARTITIONS_TASK, "interval": every_day, "enabled": True},
    )
