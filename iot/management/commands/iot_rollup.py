"""`manage.py iot_rollup`: bring rollups up to date now (the beat task's service).

    manage.py iot_rollup                         # consume the late-data queue
    manage.py iot_rollup --rebuild --start 2025-01-01 --end 2025-02-01 [--device 7 ...]
    manage.py iot_rollup --status
"""

from datetime import UTC, datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from iot.rollups.service import rollup_enqueue_range, rollup_run, rollup_status


def _instant(raw: str) -> datetime:
    value = parse_datetime(raw)
    if value is None:
        day = parse_date(raw)
        if day is None:
            raise CommandError(f"Not a date or datetime: {raw!r}")
        value = datetime.combine(day, time.min)
    return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "Roll up queued readings into the 15m/1h/1d/1mo tables; --rebuild re-rolls a range."

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help="Re-roll [--start, --end) first.")
        parser.add_argument("--start", help="Start (date or ISO datetime, UTC if naive).")
        parser.add_argument("--end", help="End, exclusive.")
        parser.add_argument("--device", type=int, action="append", help="Only this device id (repeatable).")
        parser.add_argument("--status", action="store_true", help="Print watermark and backlog only.")

    def handle(self, *args, **opts):
        if opts["status"]:
            for key, value in rollup_status().items():
                self.stdout.write(f"{key}: {value}")
            return
        if opts["rebuild"]:
            if not (opts["start"] and opts["end"]):
                raise CommandError("--rebuild needs --start and --end.")
            start, end = _instant(opts["start"]), _instant(opts["end"])
            if start >= end:
                raise CommandError("--start must be before --end.")
            queued = rollup_enqueue_range(start=start, end=end, device_ids=opts["device"])
            self.stdout.write(f"queued {queued} (device, metric) ranges")
        result = rollup_run()
        if result.skipped:
            self.stdout.write("another rollup run holds the lock; nothing done")
            return
        self.stdout.write(self.style.SUCCESS(
            f"rolled up {result.queued} queued writes in {result.ranges} ranges; "
            f"watermark {result.watermark}"
        ))
