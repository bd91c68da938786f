"""Import zonal market prices from a CSV or GME "MGP Prezzi" XML file (an upsert)."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.exceptions import DomainError
from pricing.services import prices_import


class Command(BaseCommand):
    help = ("Import market prices (CSV zone,interval_start,price_eur_per_mwh[,resolution] or GME XML). "
            "Idempotent; prints created/updated/unchanged, refused rows and gaps.")

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="CSV or XML files")
        parser.add_argument("--format", choices=["csv", "gme_xml"], help="default: from the file name")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, **options):
        failed = False
        for name in options["paths"]:
            path = Path(name)
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise CommandError(f"{name}: {exc.strerror}") from None
            try:
                report = prices_import(actor=None, data=data, filename=path.name, fmt=options["format"])
            except DomainError as exc:
                self.stderr.write(f"{name}: {exc.message} Nothing imported.")
                failed = True
                continue
            if options["json"]:
                self.stdout.write(json.dumps({"file": name, **report.as_dict()}))
                continue
            self.stdout.write(f"{name} ({report.format}): {report.summary()}")
            for refused in report.refused:
                self.stdout.write(f"  refused line {refused['line']}: {refused['reason']}")
            for gap in report.gaps:
                self.stdout.write(f"  gap {gap['zone']} {gap['resolution_minutes']} min: "
                                  f"{gap['start']} .. {gap['end']} ({gap['missing']} missing)")
            if report.ignored_columns:
                self.stdout.write(f"  columns not stored: {', '.join(report.ignored_columns)}")
        if failed:
            raise CommandError("Some files could not be imported (see above).")
