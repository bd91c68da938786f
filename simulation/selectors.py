"""Reads: every user-facing read starts from `visible_to(user)`."""

from __future__ import annotations

from django.db.models import QuerySet

from core.errors import ApiError
from simulation.models import Scenario, SimulationRun


def run_list(*, user) -> QuerySet[SimulationRun]:
    return SimulationRun.objects.visible_to(user).select_related("scenario").defer("intervals_npz", "summary")


def run_get(*, user, job) -> SimulationRun:
    run = SimulationRun.objects.visible_to(user).select_related("scenario").filter(job=job).first()
    if run is None:
        raise ApiError("Simulation run not found.", error="NotFound", status_code=404)
    return run


def scenario_get(*, user, scenario_id: int) -> Scenario:
    scenario = Scenario.objects.visible_to(user).filter(pk=scenario_id).first()
    if scenario is None:
        raise ApiError("Scenario not found.", error="NotFound", status_code=404)
    return scenario


def scenario_list(*, user) -> QuerySet[Scenario]:
    return Scenario.objects.visible_to(user).select_related("community")
