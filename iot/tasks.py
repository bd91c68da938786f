"""Celery tasks of the device/ingest side: thin wrappers over services."""

from celery import shared_task
from django.conf import settings

from iot.ingest.partitions import partitions_ensure
from iot.rollups import tasks as _read_side_tasks  # noqa: F401  (Celery discovers iot.tasks only)

PARTITIONS_TASK = "iot.tasks.partitions_ensure_task"
COMMANDS_EXPIRE_TASK = "iot.tasks.device_commands_expire_task"
DEAD_LETTERS_PURGE_TASK = "iot.tasks.dead_letters_purge_task"


@shared_task(name=PARTITIONS_TASK)
def partitions_ensure_task() -> dict:
    report = partitions_ensure(months_ahead=settings.IOT_PARTITIONS_MONTHS_AHEAD)
    return {"created": report.created, "moved_rows": report.moved_rows}


@shared_task(name=COMMANDS_EXPIRE_TASK)
def device_commands_expire_task() -> dict:
    from iot.devices.commands import device_commands_expire

    return {"expired": device_commands_expire()}


@shared_task(name=DEAD_LETTERS_PURGE_TASK)
def dead_letters_purge_task() -> dict:
    from iot.ingest.dead_letters import dead_letters_purge

    return {"deleted": dead_letters_purge()}


def beat_tasks_ensure() -> None:
    """Register the beat tasks (the one list is `config.beat.BEAT_TASKS`); run after every
    migrate."""
    from config.beat import beat_sync

    beat_sync()
