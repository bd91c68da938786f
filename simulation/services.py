"""Writes: create scenarios, start, execute and cancel simulation runs."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.errors import ApiError
from simulation.community_import import community_import, statute_of
from simulation.csv_upload import Consumption
from simulation.engine.lp import SolverError
from simulation.models import (
    RunStatus,
    Scenario,
    ScenarioBattery,
    ScenarioMember,
    ScenarioPlant,
    SimulationRun,
)
from simulation.progress import publish
from simulation.storage import curve_to_blob, frame_to_npz

logger = logging.getLogger("commonwatt.simulation")


class RunCancelled(Exception):
    pass


def _community_for(user, community_id: int):
    from communities.models import Community

    community = Community.objects.visible_to(user).filter(pk=community_id).first()
    if community is None:
        raise ApiError("Community not found.", error="NotFound", status_code=404)
    if not Community.objects.managed_by(user).filter(pk=community.pk).exists():
        raise ApiError(
            "Only the community's managers may create its scenarios.",
            error="PermissionDenied",
            status_code=403,
        )
    return community


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
        raise ApiError(
            f"The CSV covers {consumption.index[0].isoformat()} .. {consumption.index[-1].isoformat()} "
            f"({len(consumption.index)} rows) but the scenario has {len(index)} intervals from "
            f"{index[0].isoformat()}.",
            error="InvalidCSV",
            details={
                "problems": [
                    {"row": 2, "column": "timestamp", "problem": "does not match the scenario span"}
                ],
                "truncated": False,
            },
        )


@transaction.atomic
def scenario_create(*, user, data: dict, consumption: Consumption | None = None) -> Scenario:
    """Create a scenario from validated input (serializers.ScenarioIn) and an optional CSV."""
    community = _community_for(user, data["community"]) if data.get("community") else None
    tz = data.get("time_zone") or (community.time_zone if community else "Europe/Rome")
    start, end = _span(data, consumption, tz)
    if end - start > timedelta(days=366):
        raise ApiError("A scenario spans at most 366 days.", details={"end": ["too far after start"]})
    statute = data.get("statute") or (statute_of(community) if community else None) or {}
    scenario = Scenario.objects.create(
        name=data["name"],
        community=community,
        created_by=user,
        organization=community.organization if community else getattr(user, "organization", None),
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
        community_import(scenario=scenario, community=community)
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
    if not scenario.members.exists():
        raise ApiError("A scenario needs at least one member.", details={"members": ["empty"]})
    if scenario.zonal_price_eur_per_mwh:
        _check_prices(scenario)
    return scenario


def _check_prices(scenario: Scenario) -> None:
    from simulation.inputs import scenario_index

    n = len(scenario_index(scenario))
    hours = n * scenario.resolution_minutes // 60
    if len(scenario.zonal_price_eur_per_mwh) not in (n, hours):
        raise ApiError(
            f"zonal_price_eur_per_mwh needs {n} values (one per interval) or {hours} (hourly).",
            details={"zonal_price_eur_per_mwh": [f"has {len(scenario.zonal_price_eur_per_mwh)}"]},
        )


def _membership(community, membership_id):
    if not membership_id:
        return None
    if community is None:
        raise ApiError(
            "Real members need a community.", details={"members": ["membership without community"]}
        )
    ms = community.memberships.filter(pk=membership_id).first()
    if ms is None:
        raise ApiError(
            f"Membership {membership_id} is not in this community.",
            details={"members": [f"unknown membership {membership_id}"]},
        )
    return ms


def _plant(community, plant_id):
    if not plant_id:
        return None
    plant = community.plants.filter(pk=plant_id).first() if community is not None else None
    if plant is None:
        raise ApiError(
            f"Plant {plant_id} is not in this community.", details={"plants": [f"unknown plant {plant_id}"]}
        )
    return plant


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, Decimal):
        return str(value)
    return value


def scenario_for_rerun(*, user, scenario_id: int) -> Scenario:
    """A stored scenario the user may run again: visible, and for a community's scenario
    managed by the user (its members may read the results, not start runs)."""
    from communities.models import Community
    from simulation.selectors import scenario_get

    scenario = scenario_get(user=user, scenario_id=scenario_id)
    if (
        scenario.community_id
        and not Community.objects.managed_by(user).filter(pk=scenario.community_id).exists()
    ):
        raise ApiError(
            "Only the community's managers may run its scenarios.", error="PermissionDenied", status_code=403
        )
    return scenario


def run_start(*, user, scenario: Scenario) -> SimulationRun:
    """Queue a run of the scenario; the Celery task starts after the commit."""
    from simulation.tasks import simulation_run_task

    run = SimulationRun.objects.create(scenario=scenario, created_by=user, message="Waiting for a worker")

    def enqueue():
        result = simulation_run_task.delay(run.pk)
        SimulationRun.objects.filter(pk=run.pk).update(celery_task_id=result.id or "")

    transaction.on_commit(enqueue)
    return run


def _set(run: SimulationRun, **fields) -> None:
    for k, v in fields.items():
        setattr(run, k, v)
    SimulationRun.objects.filter(pk=run.pk).update(**fields)
    transaction.on_commit(lambda: publish(run))


def run_execute(*, run_id: int) -> SimulationRun:
    """Execute a queued run (the Celery task's body, also used by `manage.py simulate`)."""
    from simulation.engine.run import simulate
    from simulation.inputs import simulation_input

    run = SimulationRun.objects.select_related("scenario").get(pk=run_id)
    if run.is_final:
        return run
    if run.cancel_requested:
        _set(
            run,
            status=RunStatus.CANCELLED,
            stage="cancelled",
            message="Cancelled before start",
            finished_at=timezone.now(),
        )
        return run
    _set(
        run,
        status=RunStatus.RUNNING,
        stage="starting",
        message="Reading the scenario",
        started_at=timezone.now(),
        progress_pct=Decimal("1"),
    )

    def report(pct: float, stage: str, message: str) -> None:
        if SimulationRun.objects.filter(pk=run.pk, cancel_requested=True).exists():
            raise RunCancelled
        _set(run, progress_pct=Decimal(str(round(pct, 2))), stage=stage, message=message)

    try:
        inp = simulation_input(run.scenario)
        out = simulate(inp, report=report, backend=settings.SIMULATION_LP_BACKEND)
        report(95, "saving", "Saving the interval table")
    except RunCancelled:
        _set(
            run,
            status=RunStatus.CANCELLED,
            stage="cancelled",
            message="Cancelled by the user",
            finished_at=timezone.now(),
        )
        return run
    except SolverError as exc:
        _set(
            run,
            status=RunStatus.FAILED,
            stage="failed",
            solver_status=str(exc)[:64],
            message=f"The optimal dispatch could not be solved: {exc}",
            finished_at=timezone.now(),
        )
        return run
    except Exception as exc:
        logger.exception("simulation run %s failed", run.job)
        _set(
            run,
            status=RunStatus.FAILED,
            stage="failed",
            message=f"The simulation failed: {exc}",
            finished_at=timezone.now(),
        )
        return run
    SimulationRun.objects.filter(pk=run.pk).update(intervals_npz=frame_to_npz(out.intervals))
    _set(
        run,
        status=RunStatus.DONE,
        stage="done",
        message="Simulation complete",
        progress_pct=Decimal("100"),
        solver_status=out.summary["solver"]["status"][:64],
        timings=out.summary["timings"],
        summary=out.summary,
        finished_at=timezone.now(),
    )
    return run


def run_cancel(*, run: SimulationRun) -> SimulationRun:
    """Ask a run to stop: a queued run stops now (and its task is revoked); a running one
    stops at its next stage or LP window."""
    from config.celery import app

    if run.is_final:
        raise ApiError(f"The run is already {run.status}.", error="Conflict", status_code=409)
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
