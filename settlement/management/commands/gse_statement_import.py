"""`manage.py gse_statement_import FILE --community SLUG [--source NAME]`: GSE's yearly
statement of one community (CSV, layout in `settlement.gse` and the README)."""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from communities.models import Community
from core.exceptions import DomainError
from settlement.gse import gse_statement_import


class Command(BaseCommand):
    help = "Import GSE's yearly statement of a community (CSV: year, configuration, incentivised_kwh, " \
           "tip_eur, valorisation_eur, excess_premium_eur[, advances_eur])."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--community", required=True, help="Community slug")
        parser.add_argument("--source", default="")

    def handle(self, *args, **opts):
        community = Community.objects.filter(slug=opts["community"]).first()
        if community is None:
            raise CommandError(f"No community {opts['community']!r}")
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        if path.stat().st_size > settings.SETTLEMENT_IMPORT_MAX_MB * 1024 * 1024:
            raise CommandError(f"File larger than {settings.SETTLEMENT_IMPORT_MAX_MB} MB")
        try:
            result = gse_statement_import(
                actor=None, community=community, data=path.read_bytes(), source=opts["source"] or path.name
            )
        except DomainError as exc:
            raise CommandError(f"{exc.message} {json.dumps(exc.details, default=str)}") from None
        self.stdout.write(json.dumps(result))
