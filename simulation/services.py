"""Writes: create scenarios, start, cancel and sweep simulation runs.

The worker's body (executing a run) is `simulation.worker.run_execute`."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from core.exceptions import Conflict, Invalid
from core.scoping import get_manageable, require_manageable
from simulation import limits
from simulation.community_import import community_import, statute_of
from simulation.csv_upload import Consumption
from simulation.models import (
    RunStatus,
    Scenario,
    ScenarioBattery,
    ScenarioMember,
    ScenarioPlant,
    SimulationRun,
)
from simulation.progress import publish
from simulation.storage import curve_to_blob

logger = logging.getLogger("commonwatt.simulation")

# pg_advisory_xact_lock namespace of the per-user run quota (any constant unique to it).
_QUOTA_LOCK = 0x53494D  # "SIM"


def _community_for(actor, community_id: int):
    """The community of a new scenario: 404 when invisible, 403 when visible but not managed."""
    from communities.models import Community

    return get_manageable(
        Community.objects.all(),
        actor,
        pk=community_id,
        message=gettext("Only the community's managers may create its scenarios."),
    )


def _span(data: dict, consumption: Consumption | None, tz: str) -> tuple[datetime, datetime]:
    if consumption is not None:
        step = timedelta(minutes=data["resolution_minutes"])
        start = data.get("start") or consumption.index[0].to_pydatetime()
        end = data.get("end") or consumption.index[-1].to_pydatetime() + step
        return start, end
    if "start" in data and "end" in data:
        return data["start"], data["end"]
    year = timezone.now().year - 1
    zone = ZoneInfo(tz)
    return (
        datetime.combine(datetime(year, 1, 1), time(), zone),
        datetime.combine(datetime(year + 1, 1, 1), time(), zone),
    )


def _check_curves(scenario: Scenario, consumption: Consumption) -> None:
    from simulation.inputs import scenario_index

    index = scenario_index(scenario)
    if len(index) != len(consumption.index) or not (index == consumption.index).all():
        raise Invalid(
            gettext("The CSV covers %(first)s .. %(last)s (%(rows)s rows) but the scenario has "
                    "%(steps)s intervals from %(start)s.")
            % {"first": consumption.index[0].isoformat(), "last": consumption.index[-1].isoformat(),
               "rows": len(consumption.index), "steps": len(index), "start": index[0].isoformat()},
            error="InvalidCSV",
            details={
                "problems": [
                    {"row": 2, "column": "timestamp", "problem": "does not match the scenario span"}
                ],
                "truncated": False,
            },
        )


@transaction.atomic
def scenario_create(*, actor, data: dict, consumption: Consumption | None = None) -> Scenario:
    """Create a scenario from validated input (serializers.ScenarioIn) and an optional CSV.

    Every id in the body is scoped to the caller: the community must be one the actor
    manages, memberships and plants must belong to it. Sizes are bounded (limits.py)."""
    community = _community_for(actor, data["community"]) if data.get("community") else None
    tz = data.get("time_zone") or (community.time_zone if community else "Europe/Rome")
    start, end = _span(data, consumption, tz)
    if end - start > timedelta(days=366):
        raise Invalid(gettext("A scenario spans at most 366 days."), details={"end": ["too far after start"]})
    limits.check_steps(int((end - start) / timedelta(minutes=data["resolution_minutes"])))
    statute = data.get("statute") or (statute_of(community) if community else None) or {}
    scenario = Scenario.objects.create(
        name=data["name"],
        community=community,
        created_by=actor,
        organization=community.organization if community else getattr(actor, "organization", None),
        regime=data["regime"],
        regime_overrides=data.get("regime_overrides") or {},
        start=start,
        end=end,
        resolution_minutes=data["resolution_minutes"],
        time_zone=tz,
        seed=data["seed"],
        tariffs=_jsonable(data.get("tariffs") or {}),
        zonal_price_eur_per_mwh=data.get("zonal_price_eur_per_mwh"),
        co2_kg_per_kwh=data["co2_kg_per_kwh"],
        economics=_jsonable(data.get("economics") or {}),
        **statute,
    )
    if community is not None and data.get("import_community"):
        community_import(scenario=scenario, community=community, geo_zone=data.get("geo_zone", ""))
        limits.check_counts(
            members=scenario.members.count() + len(data["members"]),
            plants=scenario.plants.count() + len(data["plants"]),
            batteries=scenario.batteries.count() + len(data["batteries"]),
        )
    members = {m.key: m for m in scenario.members.all()}
    for item in data["members"]:
        members[item["key"]] = ScenarioMember.objects.create(
            scenario=scenario,
            key=item["key"],
            name=item.get("name") or item["key"],
            membership=_membership(community, item.get("membership")),
            user_type="real" if item.get("membership") else "simulated",
            profile=item["profile"],
            annual_kwh=item["annual_kwh"],
            business=item["business"],
        )
    if consumption is not None:
        _check_curves(scenario, consumption)
        for key, curve in consumption.curves_kwh.items():
            member = members.get(key) or ScenarioMember.objects.create(scenario=scenario, key=key, name=key)
            member.curve_kwh = curve_to_blob(curve)
            member.annual_kwh = Decimal(str(round(float(curve.sum()), 2)))
            member.save(update_fields=["curve_kwh", "annual_kwh"])
            members[key] = member
    for i, item in enumerate(data["plants"], start=1):
        ScenarioPlant.objects.create(
            scenario=scenario,
            member=members[item["member"]],
            name=item.get("name") or f"PV {i}",
            **{
                k: item[k]
                for k in (
                    "lat",
                    "lon",
                    "kwp",
                    "tilt_deg",
                    "azimuth_deg",
                    "losses_pct",
                    "geo_zone",
                    "capital_grant_pct",
                )
            },
            inverter_kw=item.get("inverter_kw"),
            commissioned_on=item.get("commissioned_on"),
            plant=_plant(community, item.get("plant")),
        )
    for i, item in enumerate(data["batteries"], start=1):
        ScenarioBattery.objects.create(
            scenario=scenario,
            member=members[item["member"]],
            name=item.get("name") or f"Battery {i}",
            **{
                k: item[k]
                for k in (
                    "capacity_kwh",
                    "power_kw",
                    "charge_efficiency",
                    "discharge_efficiency",
                    "soc_min_pct",
                    "soc_max_pct",
                    "soc_initial_pct",
                )
            },
        )
    limits.check_counts(
        members=scenario.members.count(),
        plants=scenario.plants.count(),
        batteries=scenario.batteries.count(),
    )
    if not scenario.members.exists():
        raise Invalid(gettext("A scenario needs at least one member."), details={"members": ["empty"]})
    if scenario.zonal_price_eur_per_mwh:
        _check_prices(scenario)
    return scenario


def _check_prices(scenario: Scenario) -> None:
    from simulation.inputs import scenario_index

    n = len(scenario_index(scenario))
    hours = n * scenario.resolution_minutes // 60
    if len(scenario.zonal_price_eur_per_mwh) not in (n, hours):
        raise Invalid(
            gettext("zonal_price_eur_per_mwh needs %(n)s values (one per interval) or %(hours)s (hourly).")
            % {"n": n, "hours": hours},
            details={"zonal_price_eur_per_mwh": [f"has {len(scenario.zonal_price_eur_per_mwh)}"]},
        )


def _membership(community, membership_id):
    if not membership_id:
        return None
    if community is None:
        raise Invalid(
            gettext("Real members need a community."), details={"members": ["membership without community"]}
        )
    ms = community.memberships.current().filter(pk=membership_id).first()
    if ms is None:
        raise Invalid(
            gettext("Membership %(id)s is not in this community.") % {"id": membership_id},
            details={"members": [f"unknown membership {membership_id}"]},
        )
    return ms


def _plant(community, plant_id):
    if not plant_id:
        return None
    plant = community.plants.filter(pk=plant_id).first() if community is not None else None
    if plant is None:
        raise Invalid(
            gettext("Plant %(id)s is not in this community.") % {"id": plant_id},
            details={"plants": [f"unknown plant {plant_id}"]},
        )
    return plant


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, Decimal):
        return str(value)
    return value


def _lock_quota(actor) -> None:
    """Serialize run starts of one user (concurrent requests cannot both pass the quota)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_QUOTA_LOCK, actor.pk])


def _check_quota(actor) -> None:
    limits.check_quota(active_runs=SimulationRun.objects.active().filter(created_by=actor).count())


@transaction.atomic
def run_start(*, actor, scenario: Scenario) -> SimulationRun:
    """Queue a run of the scenario (the actor must manage it; at most
    SIMULATION_MAX_CONCURRENT_PER_USER active runs per user); the task starts after commit."""
    from simulation.tasks import simulation_run_task

    require_manageable(actor, scenario,
                       message=gettext("Only the community's managers may run its scenarios."))
    _lock_quota(actor)
    _check_quota(actor)
    run = SimulationRun.objects.create(scenario=scenario, created_by=actor, message="Waiting for a worker")

    def enqueue():
        result = simulation_run_task.delay(run.pk)
        SimulationRun.objects.filter(pk=run.pk).update(celery_task_id=result.id or "")

    transaction.on_commit(enqueue)
    return run


@transaction.atomic
def simulation_start(*, actor, data: dict, consumption: Consumption | None = None) -> SimulationRun:
    """Start a run: of a stored scenario (`data["scenario"]`) or of a new one built from
    `data`. Nothing is stored when the quota or a limit refuses it."""
    from simulation.selectors import scenario_get_manageable

    _lock_quota(actor)
    _check_quota(actor)  # before building a large scenario for nothing
    if data.get("scenario") is not None:
        scenario = scenario_get_manageable(user=actor, scenario_id=data["scenario"])
    else:
        scenario = scenario_create(actor=actor, data=data, consumption=consumption)
    return run_start(actor=actor, scenario=scenario)


def run_cancel(*, actor, run: SimulationRun) -> SimulationRun:
    """Ask a run to stop (the actor must manage it): a queued run stops now (and its task is
    revoked); a running one stops at its next stage or LP window."""
    from config.celery import app

    require_manageable(actor, run, message=gettext("Only who manages a run may cancel it."))
    if run.is_final:
        raise Conflict(gettext("The run is already %(status)s.") % {"status": run.status})
    SimulationRun.objects.filter(pk=run.pk).update(cancel_requested=True)
    run.cancel_requested = True
    if run.celery_task_id:
        app.control.revoke(run.celery_task_id)
    if run.status == RunStatus.QUEUED:
        updated = SimulationRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
            status=RunStatus.CANCELLED,
            stage="cancelled",
            message="Cancelled before start",
            finished_at=timezone.now(),
        )
        if updated:
            run.refresh_from_db()
            publish(run)
    return run


def run_sweep_stuck(*, now: datetime | None = None) -> int:
    """Fail the runs a dead worker left behind: queued for longer than
    SIMULATION_STUCK_AFTER_S since creation, or running without a heartbeat for that long.
    Returns how many were failed (beat task `simulation.sweep_stuck`)."""
    from config.celery import app

    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SIMULATION_STUCK_AFTER_S)
    stuck = SimulationRun.objects.filter(
        Q(status=RunStatus.QUEUED, created_at__lt=cutoff)
        | Q(status=RunStatus.RUNNING)
        & (Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff))
    )
    failed = 0
    for run in stuck:
        updated = SimulationRun.objects.filter(pk=run.pk, status=run.status).update(
            status=RunStatus.FAILED,
            stage="failed",
            message=f"The worker stopped answering: no progress for {settings.SIMULATION_STUCK_AFTER_S} s.",
            finished_at=now,
        )
        if not updated:
            continue  # it moved on meanwhile
        failed += 1
        logger.warning("simulation run %s was %s with no sign of life: failed", run.job, run.status)
        if run.celery_task_id:
            app.control.revoke(run.celery_task_id)
        run.refresh_from_db()
        publish(run)
    return failed
