"""`manage.py market_settle --community SLUG --from ISO --to ISO`: settle the market's
deliveries of the intervals starting in [from, to) (idempotent; prints a JSON summary)."""

import json
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from communities.models import Community, Regime
from market.settlement import deliveries_settle


def _when(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--{name}: not an ISO date or datetime: {value!r}") from None
    return (
        parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, timezone.get_default_timezone())
    )


class Command(BaseCommand):
    help = "Settle the p2p market's deliveries of a community over [from, to)."

    def add_arguments(self, parser):
        parser.add_argument("--community", required=True, help="The community's slug.")
        parser.add_argument("--from", dest="start", required=True, help="ISO date or datetime (inclusive).")
        parser.add_argument("--to", dest="end", required=True, help="ISO date or datetime (exclusive).")

    def handle(self, *args, **options):
        community = Community.objects.filter(slug=options["community"]).first()
        if community is None:
            raise CommandError(f"No community {options['community']!r}.")
        if community.regime != Regime.P2P:
            raise CommandError(f"{community.slug} is not a p2p community (regime {community.regime}).")
        start, end = _when(options["start"], "from"), _when(options["end"], "to")
        if end <= start:
            raise CommandError("--to must be after --from.")
        result = deliveries_settle(community=community, start=start, end=end)
        self.stdout.write(json.dumps({"community": community.slug, **result.as_dict()}))
