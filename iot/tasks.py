"""Celery tasks of the device/ingest side: thin wrappers over services."""

from celery import shared_task
from django.conf import settings

from iot.ingest.partitions import partitions_ensure


@shared_task(name="iot.tasks.partitions_ensure_task")
def partitions_ensure_task() -> dict:
    report = partitions_ensure(months_ahead=settings.IOT_PARTITIONS_MONTHS_AHEAD)
    return {"created": report.created, "moved_rows": report.moved_rows}
