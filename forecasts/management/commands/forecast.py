"""`manage.py forecast --community SLUG [--score DAY] [--plan] [--at ISO]`: issue a
community's forecasts (the same service as the beat task), optionally score a past day and
plan tomorrow's battery schedules; prints a JSON summary."""

import json
from datetime import date, datetime

from django.core.management.base import BaseCommand, CommandError

from communities.models import Community


class Command(BaseCommand):
    help = "Issue a community's forecasts (48 h); --score DAY scores a day; --plan plans batteries."

    def add_arguments(self, parser):
        parser.add_argument("--community", required=True, help="Community slug.")
        parser.add_argument("--at", help="Issue time, ISO-8601 with offset (default: now).")
        parser.add_argument("--score", help="Also score this local day (YYYY-MM-DD).")
        parser.add_argument("--plan", action="store_true", help="Also plan tomorrow's battery schedules.")

    def handle(self, *args, **options):
        from forecasts.issue import forecast_issue
        from forecasts.scoring import forecast_score_day
        from forecasts.steering import battery_schedules_plan, tomorrow

        community = Community.objects.filter(slug=options["community"]).first()
        if community is None:
            raise CommandError(f"No community with slug {options['community']!r}.")
        at = None
        if options["at"]:
            try:
                at = datetime.fromisoformat(options["at"])
            except ValueError:
                raise CommandError("--at must be an ISO-8601 date-time.") from None
            if at.tzinfo is None:
                raise CommandError("--at needs a UTC offset (e.g. 2025-06-17T06:00+02:00).")
        summary = forecast_issue(community=community, issued_at=at)
        if options["score"]:
            try:
                day = date.fromisoformat(options["score"])
            except ValueError:
                raise CommandError("--score must be a date (YYYY-MM-DD).") from None
            scores = forecast_score_day(community=community, day=day)
            summary["scores"] = [{"kind": s.kind, "quantity": s.quantity, "plant": s.plant_id,
                                  "metering_point": s.metering_point_id, "mae_kwh": round(s.mae_kwh, 4),
                                  "skill": None if s.skill is None else round(s.skill, 3)}
                                 for s in scores if s.kind == "community"]
        if options["plan"]:
            day = tomorrow(community) if at is None else (at.date())
            summary["schedules"] = len(battery_schedules_plan(community=community, day=day))
        self.stdout.write(json.dumps(summary))
