"""`manage.py curves_import FILE [--source NAME]`: the grid operator's official curves (CSV)."""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.exceptions import Invalid
from settlement.curves import curves_import


class Command(BaseCommand):
    help = "Import official metering curves (CSV: pod, interval_start, withdrawal_kwh, injection_kwh)."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--source", default="")

    def handle(self, *args, **opts):
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        if path.stat().st_size > settings.SETTLEMENT_IMPORT_MAX_MB * 1024 * 1024:
            raise CommandError(f"File larger than {settings.SETTLEMENT_IMPORT_MAX_MB} MB")
        try:
            result = curves_import(actor=None, data=path.read_bytes(), source=opts["source"] or path.name)
        except Invalid as exc:
            raise CommandError(f"{exc.message} {exc.details}") from None
        self.stdout.write(json.dumps(result))
