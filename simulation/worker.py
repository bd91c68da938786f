"""The simulation worker's body: execute one queued run, report progress, store results.

Kept apart from `services` (which queues runs through `tasks`) so that the task module
imports only this one: services -> tasks -> worker, never back.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from simulation.engine.lp import SolverError
from simulation.models import RunStatus, SimulationRun
from simulation.progress import publish
from simulation.storage import frame_to_npz

logger = logging.getLogger("commonwatt.simulation")


class RunCancelled(Exception):
    pass


def _set(run: SimulationRun, **fields) -> None:
    """Write `fields` (and the heartbeat the stuck-run sweep reads), then publish progress."""
    fields.setdefault("heartbeat_at", timezone.now())
    for k, v in fields.items():
        setattr(run, k, v)
    SimulationRun.objects.filter(pk=run.pk).update(**fields)
    transaction.on_commit(lambda: publish(run))


def _finish(run: SimulationRun, status: str, message: str, **fields) -> SimulationRun:
    _set(run, status=status, stage=status, message=message, finished_at=timezone.now(), **fields)
    return run


def run_execute(*, run_id: int) -> SimulationRun:
    """Execute a queued run (the Celery task's body, also used by `manage.py simulate`)."""
    from simulation.engine.run import simulate
    from simulation.inputs import simulation_input

    run = SimulationRun.objects.select_related("scenario").get(pk=run_id)
    if run.is_final:
        return run
    if run.cancel_requested:
        return _finish(run, RunStatus.CANCELLED, "Cancelled before start")
    _set(
        run,
        status=RunStatus.RUNNING,
        stage="starting",
        message="Reading the scenario",
        started_at=timezone.now(),
        progress_pct=Decimal("1"),
    )

    def report(pct: float, stage: str, message: str) -> None:
        current = SimulationRun.objects.filter(pk=run.pk).values("cancel_requested", "status").first()
        if current is None or current["cancel_requested"] or current["status"] in (RunStatus.FAILED,):
            raise RunCancelled  # cancelled, deleted, or failed by the stuck-run sweep
        _set(run, progress_pct=Decimal(str(round(pct, 2))), stage=stage, message=message)

    try:
        inp = simulation_input(run.scenario)
        out = simulate(inp, report=report, backend=settings.SIMULATION_LP_BACKEND)
        report(95, "saving", "Saving the interval table")
    except RunCancelled:
        current = SimulationRun.objects.filter(pk=run.pk).values_list("status", flat=True).first()
        if current != RunStatus.RUNNING:
            run.status = current or run.status
            return run
        return _finish(run, RunStatus.CANCELLED, "Cancelled by the user")
    except SolverError as exc:
        return _finish(
            run,
            RunStatus.FAILED,
            f"The optimal dispatch could not be solved: {exc}",
            solver_status=str(exc)[:64],
        )
    except Exception as exc:
        logger.exception("simulation run %s failed", run.job)
        return _finish(run, RunStatus.FAILED, f"The simulation failed: {exc}")
    SimulationRun.objects.filter(pk=run.pk).update(intervals_npz=frame_to_npz(out.intervals))
    return _finish(
        run,
        RunStatus.DONE,
        "Simulation complete",
        progress_pct=Decimal("100"),
        solver_status=out.summary["solver"]["status"][:64],
        timings=out.summary["timings"],
        summary=out.summary,
    )
