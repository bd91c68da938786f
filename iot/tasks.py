"""Celery tasks of the device/ingest side: thin wrappers over services."""

from celery import shared_task
from django.conf import settings

from iot.ingest.partitions import partitions_ensure

PARTITIONS_TASK = "iot.tasks.partitions_ensure_task"
COMMANDS_EXPIRE_TASK = "iot.tasks.device_commands_expire_task"


@shared_task(name=PARTITIONS_TASK)
def partitions_ensure_task() -> dict:
    report = partitions_ensure(months_ahead=settings.IOT_PARTITIONS_MONTHS_AHEAD)
    return {"created": report.created, "moved_rows": report.moved_rows}


@shared_task(name=COMMANDS_EXPIRE_TASK)
def device_commands_expire_task() -> dict:
    from iot.devices.commands import device_commands_expire

    return {"expired": device_commands_expire()}


def beat_tasks_ensure() -> None:
    """Register the daily partition task (as migration 0004 does) and the command expiry
    (every minute) in django-celery-beat; run after every migrate."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every_day, _ = IntervalSchedule.objects.get_or_create(every=1, period="days")
    PeriodicTask.objects.get_or_create(
        name="iot: create monthly reading partitions ahead",
        defaults={"task": PARTITIONS_TASK, "interval": every_day, "enabled": True},
    )
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    PeriodicTask.objects.get_or_create(
        name="iot: fail commands left without acknowledgement",
        defaults={"task": COMMANDS_EXPIRE_TASK, "interval": every_minute, "enabled": True},
    )
