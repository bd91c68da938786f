"""`manage.py settle --community SLUG (--month YYYY-MM | --true-up YEAR) [--approve --post]
[--as EMAIL]`.

Drafts (then optionally approves and posts) a community's month, or its yearly GSE true-up
(once GSE's statement is imported: `gse_statement_import`), through the same services as
the API; `--as` names the acting referent (default: the system, as the beat task)."""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from communities.models import Community
from core.exceptions import DomainError
from settlement import services
from settlement.api import parse_month


class Command(BaseCommand):
    help = "Draft, approve and post a community's settlement run for one month or its yearly true-up."

    def add_arguments(self, parser):
        parser.add_argument("--community", required=True, help="Community slug")
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--month", help="YYYY-MM")
        which.add_argument("--true-up", dest="true_up", type=int, metavar="YEAR",
                           help="The yearly true-up of YEAR (needs GSE's statement)")
        parser.add_argument("--approve", action="store_true")
        parser.add_argument("--post", action="store_true", help="Approve (if needed) and post")
        parser.add_argument("--as", dest="actor", default="", help="Email of the acting referent")

    def handle(self, *args, **opts):
        community = Community.objects.filter(slug=opts["community"]).first()
        if community is None:
            raise CommandError(f"No community {opts['community']!r}")
        month = None
        if opts["month"]:
            try:
                month = parse_month(opts["month"])
            except ValueError:
                raise CommandError("--month is YYYY-MM") from None
        actor = None
        if opts["actor"]:
            actor = get_user_model().objects.filter(email__iexact=opts["actor"]).first()
            if actor is None:
                raise CommandError(f"No user {opts['actor']!r}")
        try:
            if month is None:
                run = services.settlement_true_up_draft(
                    actor=actor, community=community, year=opts["true_up"]
                )
            else:
                run = services.settlement_draft(actor=actor, community=community, month=month)
            if (opts["approve"] or opts["post"]) and run.status == "draft":
                run = services.settlement_approve(actor=actor, run=run)
            if opts["post"] and run.status == "approved":
                run = services.settlement_post(actor=actor, run=run)
        except DomainError as exc:
            raise CommandError(f"{exc.message} {json.dumps(exc.details, default=str)}") from None
        self.stdout.write(
            json.dumps(
                {
                    "run": run.pk,
                    "number": run.number,
                    "kind": run.kind,
                    "status": run.status,
                    "result_hash": run.result_hash,
                    "lines": run.lines.count(),
                    "blocking": run.data_quality.get("blocking", []),
                    "error": run.error,
                }
            )
        )
