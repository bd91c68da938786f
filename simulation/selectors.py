"""Reads: every user-facing read starts from `visible_to(user)`; actions from `managed_by`.

Members of a community read its scenarios' runs but only the aggregates and their own
line of the statute split (`run_results`); who manages a run reads everything."""

from __future__ import annotations

import copy

from django.db.models import QuerySet
from django.utils.translation import gettext

from core.scoping import get_manageable, get_visible
from simulation.models import Scenario, SimulationRun


def run_list(*, user) -> QuerySet[SimulationRun]:
    return SimulationRun.objects.visible_to(user).select_related("scenario").defer("intervals_npz", "summary")


def run_get(*, user, job) -> SimulationRun:
    """The run, if visible (else NotFound)."""
    return get_visible(SimulationRun.objects.select_related("scenario"), user, job=job)


def run_get_manageable(*, user, job) -> SimulationRun:
    """The run, if the user may act on it (NotFound when invisible, Forbidden when only visible)."""
    return get_manageable(
        SimulationRun.objects.select_related("scenario"),
        user,
        job=job,
        message=gettext("Only who manages a run may cancel it."),
    )


def run_is_manageable(*, user, run: SimulationRun) -> bool:
    return SimulationRun.objects.managed_by(user).filter(pk=run.pk).exists()


def scenario_get(*, user, scenario_id: int) -> Scenario:
    return get_visible(Scenario.objects.all(), user, pk=scenario_id)


def scenario_get_manageable(*, user, scenario_id: int) -> Scenario:
    return get_manageable(
        Scenario.objects.all(),
        user,
        pk=scenario_id,
        message=gettext("Only the community's managers may run its scenarios."),
    )


def scenario_list(*, user) -> QuerySet[Scenario]:
    return Scenario.objects.visible_to(user).select_related("community")


def own_member_keys(*, user, scenario: Scenario) -> set[str]:
    """Keys of the scenario's participants that are this user (through their membership)."""
    return set(scenario.members.filter(membership__user=user).values_list("key", flat=True))


def run_results(*, user, run: SimulationRun, manages: bool | None = None) -> dict:
    """The run's summary as this user may read it.

    Who manages the run reads it whole. Anyone else who sees it (a member of the community)
    reads the aggregates and only their own line of the statute split: the other members'
    names and euro amounts are removed."""
    summary = run.summary or {}
    if manages is None:
        manages = run_is_manageable(user=user, run=run)
    if manages or not summary:
        return summary
    mine = own_member_keys(user=user, scenario=run.scenario)
    redacted = copy.deepcopy(summary)
    split = redacted.get("split")
    if isinstance(split, dict):
        split["members"] = [m for m in split.get("members", []) if m.get("key") in mine]
    return redacted
