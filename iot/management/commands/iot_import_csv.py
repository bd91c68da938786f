"""`manage.py iot_import_csv FILE`: load readings from a CSV file through the one write path.

    device,metric,ts,value
    MTR-IT001E00000001,energy_import_kwh,2026-06-01T00:15:00+02:00,1024.5

`--device SERIAL` names the device for a file without a `device` column. Rows go to
`iot.ingest.service.ingest` in batches (`--batch-size`, default 10,000), so validation,
dead letters, idempotency and the live fan-out are those of every other source: importing
the same file twice changes nothing. Prints a JSON summary; the first refusals name their
line in the file.
"""

import csv
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from iot.ingest.service import ingest

REQUIRED = ("metric", "ts", "value")
MAX_LISTED_ERRORS = 20


def _number_or_raw(raw: str):
    """A numeric cell as float; anything else as written, for ingest to refuse and dead-letter."""
    try:
        return float(raw)
    except (TypeError, ValueError):
        return raw


class Command(BaseCommand):
    help = "Import readings (device, metric, ts, value) from a CSV file through the ingest service."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--device", help="Serial of the device, for a file without a device column.")
        parser.add_argument("--batch-size", type=int, default=10_000)

    def handle(self, *args, **opts):
        path, serial, size = opts["file"], opts["device"], opts["batch_size"]
        if size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        totals = {"accepted": 0, "duplicate": 0, "rejected": 0, "corrected": 0, "errors": []}
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = [c.strip() for c in reader.fieldnames or []]
            missing = [c for c in (*REQUIRED, *(() if serial else ("device",))) if c not in columns]
            if missing:
                raise CommandError(
                    f"Missing column(s) {', '.join(missing)}; expected a header "
                    f"{'metric,ts,value (with --device)' if serial else 'device,metric,ts,value'}."
                )
            reader.fieldnames = columns
            batch, lines = [], []
            for row in reader:
                item = {"device": serial or row.get("device"), "metric": row.get("metric"),
                        "ts": row.get("ts"), "value": _number_or_raw(row.get("value"))}
                batch.append(item)
                lines.append(reader.line_num)
                if len(batch) == size:
                    self._ingest(batch, lines, totals)
                    batch, lines = [], []
            if batch:
                self._ingest(batch, lines, totals)
        self.stdout.write(json.dumps(totals, indent=2))

    def _ingest(self, batch: list[dict], lines: list[int], totals: dict) -> None:
        result = ingest(batch, source="import")
        for key in ("accepted", "duplicate", "rejected", "corrected"):
            totals[key] += getattr(result, key)
        room = MAX_LISTED_ERRORS - len(totals["errors"])
        for error in result.errors[: max(room, 0)]:
            totals["errors"].append({"line": lines[error["index"]], "reason": error["reason"]})
