"""`manage.py simulate SCENARIO`: run a stored scenario now, in this process, and print
the summary JSON (operators; no worker needed)."""

import json

from django.core.management.base import BaseCommand, CommandError

from simulation.models import Scenario, SimulationRun
from simulation.worker import run_execute


class Command(BaseCommand):
    help = "Run a stored simulation scenario synchronously and print its summary as JSON."

    def add_arguments(self, parser):
        parser.add_argument("scenario", type=int, help="Scenario id")
        parser.add_argument("--full", action="store_true", help="Print the whole summary (monthly, split...)")

    def handle(self, *args, scenario: int, full: bool, **options):
        found = Scenario.objects.filter(pk=scenario).first()
        if found is None:
            raise CommandError(f"Scenario {scenario} does not exist.")
        run = SimulationRun.objects.create(scenario=found, message="Started by manage.py simulate")
        run = run_execute(run_id=run.pk)
        run.refresh_from_db()
        if run.status != "done":
            raise CommandError(f"Run {run.job} {run.status}: {run.message}")
        summary = run.summary
        if not full:
            keys = ("period", "participants", "regime", "solver", "timings", "total", "difference")
            summary = {k: summary[k] for k in keys if k in summary} | {
                "economics": {k: v for k, v in summary["economics"].items() if k != "cash_flow"}
            }
        self.stdout.write(json.dumps({"job": str(run.job), "status": run.status, **summary}, indent=2))
