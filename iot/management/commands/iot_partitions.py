"""`manage.py iot_partitions [--ahead N] [--back N]`: create monthly reading partitions."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from iot.ingest.partitions import partitions_ensure


class Command(BaseCommand):
    help = ("Create the monthly partitions of iot_reading from --back months ago to --ahead months "
            "ahead, moving rows of those months out of the default partition (idempotent).")

    def add_arguments(self, parser):
        parser.add_argument("--ahead", type=int, default=settings.IOT_PARTITIONS_MONTHS_AHEAD)
        parser.add_argument("--back", type=int, default=0,
                            help="Also create this many past months (before a historical backfill).")

    def handle(self, *args, **options):
        if options["ahead"] < 0 or options["back"] < 0:
            raise CommandError("--ahead and --back must be zero or more")
        report = partitions_ensure(months_ahead=options["ahead"], months_back=options["back"])
        self.stdout.write(
            f"partitions: {len(report.created)} created, {len(report.existing)} existing, "
            f"{report.moved_rows} row(s) moved from the default partition"
        )
        for name in report.created:
            self.stdout.write(f"  + {name}")
