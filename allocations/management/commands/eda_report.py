"""Print where the platform's allocation and the grid operator's (EDA) differ, as JSON."""

import json
from datetime import datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date

from allocations.selectors import eda_difference_report
from communities.models import Community


class Command(BaseCommand):
    help = "EDA difference report of an Austrian community over [--from, --to) local days, JSON."

    def add_arguments(self, parser):
        parser.add_argument("--community", required=True, help="community id or slug")
        parser.add_argument("--from", dest="start", required=True, help="YYYY-MM-DD")
        parser.add_argument("--to", dest="end", required=True, help="YYYY-MM-DD (exclusive)")
        parser.add_argument("--tolerance-kwh", default="0.001")

    def handle(self, *args, **options):
        ref = options["community"]
        community = Community.objects.filter(**({"pk": int(ref)} if ref.isdigit() else {"slug": ref})).first()
        if community is None:
            raise CommandError(f"No community {ref!r}.")
        tz = ZoneInfo(community.time_zone)
        days = [parse_date(options["start"]), parse_date(options["end"])]
        if None in days or days[1] <= days[0]:
            raise CommandError("--from and --to are dates YYYY-MM-DD, --to after --from.")
        start, end = (datetime.combine(d, time(), tzinfo=tz) for d in days)
        report = eda_difference_report(community=community, start=start, end=end,
                                       tolerance_kwh=Decimal(options["tolerance_kwh"]))
        self.stdout.write(json.dumps(report, indent=2))
