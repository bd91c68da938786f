"""`manage.py simulation_sweep_stuck`: fail the runs a dead worker left queued or running
(the beat task `simulation.sweep_stuck` does the same every minute)."""

from django.core.management.base import BaseCommand

from simulation.services import run_sweep_stuck


class Command(BaseCommand):
    help = "Fail simulation runs with no sign of life for SIMULATION_STUCK_AFTER_S seconds."

    def handle(self, *args, **options):
        self.stdout.write(f"simulation: {run_sweep_stuck()} stuck run(s) failed")
