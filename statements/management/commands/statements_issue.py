"""`manage.py statements_issue --run <id>`: issue (and email) the statements of a posted
run that lacks them (one posted before the statements app, or whose issue failed).
Idempotent: statements that exist are left alone."""

from django.core.management.base import BaseCommand, CommandError

from core.exceptions import DomainError


class Command(BaseCommand):
    help = "Issue the missing statements of a posted settlement run (and queue their emails)."

    def add_arguments(self, parser):
        parser.add_argument("--run", type=int, required=True, help="The settlement run's id.")

    def handle(self, *args, run, **options):
        from settlement.models import SettlementRun
        from statements.services import statements_issue

        settlement_run = SettlementRun.objects.filter(pk=run).select_related("period__community").first()
        if settlement_run is None:
            raise CommandError(f"No settlement run {run}.")
        try:
            created = statements_issue(run=settlement_run)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"{len(created)} statement(s) issued for run {run}.")
