"""Battery steering: tomorrow's charge/discharge schedule of the batteries the platform can
command, computed with the simulation's LP on the forecasts, sent as device commands when
the community opted in, and measured afterwards.

LP (simulation.engine.dispatch, one window = the day): each battery charges only from its
plant meter's forecast surplus and discharges only into its deficit (GSE storage rule);
objective = the community's shared energy sum_t min(INJ0_t - sum c, WD0_t - sum d) with a
tiny per-kWh cost on cycling (tie-break: no cycling that adds nothing). The day ends at the
state of charge the self-consumption rule would reach, so the schedule is never worse than
the batteries' own rule on the forecast.

Under that rule a battery can only take shared energy away (charging lowers the community's
injection, discharging its withdrawal); what steering adds is the shared energy the
battery's own self-consumption rule (charge whenever the meter has surplus, discharge
whenever it has a deficit) would have destroyed: charge when the community has surplus
beyond what members draw, discharge when it has none. "Without the schedule" is therefore
the battery on its own rule, both in the forecast and when measured afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import numpy as np
from django.db import transaction
from django.utils import timezone

from core.exceptions import Conflict
from forecasts import calendar, measured
from forecasts.models import BatterySchedule, Forecast, ForecastSettings, Quantity, SubjectKind
from forecasts.notify import battery_schedule_notify
from forecasts.scoring import _slice
from simulation.engine.dispatch import DispatchProblem, baseline_dispatch, optimal_dispatch
from simulation.physics import BatterySpec

CYCLE_COST = 1e-4  # objective units per kWh moved: breaks ties against useless cycling
COMMAND = "set_schedule"


def commandable_batteries(community):
    """[(asset, device)]: battery assets of the community's plants with an active battery device."""
    from iot.models import Device
    from plants.models import Asset

    assets = (Asset.objects.filter(kind="battery", plant__community=community,
                                   capacity_kwh__gt=0, power_kw__gt=0)
              .select_related("plant").order_by("pk"))
    out = []
    for asset in assets:
        device = (Device.objects.filter(plant=asset.plant, kind="battery", is_active=True)
                  .order_by("pk").first())
        if device is not None:
            out.append((asset, device))
    return out


def _initial_soc_pct(device, spec_min: float, spec_max: float) -> float:
    from iot.read.selectors import latest_values

    value = latest_values(device_ids=[device.pk], metric_codes=["soc_pct"]).get(device.pk, {}).get("soc_pct")
    pct = float(value["value"]) if value else 50.0
    return float(np.clip(pct, spec_min, spec_max))


def _spec(asset, device) -> BatterySpec:
    soc_min, soc_max = float(asset.soc_min_pct), float(asset.soc_max_pct)
    return BatterySpec.from_round_trip(
        round_trip_efficiency=float(asset.round_trip_efficiency or 0.9),
        capacity_kwh=float(asset.capacity_kwh), power_kw=float(asset.power_kw),
        soc_min_pct=soc_min, soc_max_pct=soc_max,
        soc_initial_pct=_initial_soc_pct(device, soc_min, soc_max))


def schedule_solve(*, specs: list[BatterySpec], surplus_kwh: np.ndarray, inj0_kwh: np.ndarray,
                   wd0_kwh: np.ndarray, dt_h: float):
    """(optimal Dispatch, shared with it, shared with the batteries on their own rule): one
    meter row per battery."""
    n_t = len(inj0_kwh)
    problem = DispatchProblem(
        dt_h=dt_h, surplus_kwh=surplus_kwh, battery_meter=np.arange(len(specs)), specs=specs,
        inj0_kwh=inj0_kwh, wd0_kwh=wd0_kwh, sell_eur_per_kwh=np.full(n_t, CYCLE_COST),
        buy_eur_per_kwh=np.full(n_t, -CYCLE_COST), rate_eur_per_kwh=np.ones(n_t))
    base = baseline_dispatch(problem)
    best = optimal_dispatch(problem, base, window_steps=n_t)
    return best, shared_under(best, inj0_kwh, wd0_kwh), shared_under(base, inj0_kwh, wd0_kwh)


def shared_under(dispatch, inj0_kwh: np.ndarray, wd0_kwh: np.ndarray) -> float:
    """Community shared energy (kWh) with the batteries following `dispatch` (DOMAIN.md)."""
    return float(np.minimum(inj0_kwh - dispatch.charge_kwh.sum(axis=0),
                            wd0_kwh - dispatch.discharge_kwh.sum(axis=0)).sum())


@dataclass
class ScheduleInputs:
    """What a day's schedules are computed from (kWh per interval of the day)."""

    batteries: list  # [(asset, device)]
    specs: list[BatterySpec]
    surplus_kwh: np.ndarray  # (batteries, steps): forecast pv - load at each battery's plant meter
    inj0_kwh: np.ndarray  # (steps,) the community's forecast production
    wd0_kwh: np.ndarray  # (steps,) the community's forecast consumption
    day_start: datetime
    step_minutes: int


def schedule_inputs(*, community, day: date) -> ScheduleInputs | None:
    """The forecasts and battery specs of `day` (None without commandable batteries).
    Conflict when there is no forecast covering the day."""
    from forecasts.windows import day_forecasts

    batteries = commandable_batteries(community)
    if not batteries:
        return None
    series, day_start, steps = day_forecasts(community=community, day=day)
    if Quantity.PRODUCTION not in series:
        raise Conflict("No forecast covers that day yet: issue one first.")
    issued_at = series[Quantity.PRODUCTION].issued_at
    step = series[Quantity.PRODUCTION].step_minutes
    inj0 = np.nan_to_num(_slice(series[Quantity.PRODUCTION], day_start, steps))
    wd0 = np.nan_to_num(_slice(series[Quantity.CONSUMPTION], day_start, steps))
    subject = {(f.kind, f.plant_id or f.metering_point_id): f
               for f in Forecast.objects.filter(community=community, issued_at=issued_at)
               .exclude(kind=SubjectKind.COMMUNITY)}
    surplus = np.zeros((len(batteries), steps))
    for b, (asset, _device) in enumerate(batteries):
        pv = subject.get((SubjectKind.PLANT, asset.plant_id))
        load = subject.get((SubjectKind.METER, asset.plant.metering_point_id))
        surplus[b] = (np.nan_to_num(_slice(pv, day_start, steps)) if pv else 0.0) - (
            np.nan_to_num(_slice(load, day_start, steps)) if load else 0.0)
    return ScheduleInputs(batteries=batteries, specs=[_spec(asset, device) for asset, device in batteries],
                          surplus_kwh=surplus, inj0_kwh=inj0, wd0_kwh=wd0, day_start=day_start,
                          step_minutes=step)


def battery_schedules_plan(*, community, day: date, actor=None) -> list[BatterySchedule]:
    """Compute and store `day`'s schedules (replacing any not yet sent for that day); sends
    them when the community opted in. Conflict when there is no forecast covering the day."""
    inputs = schedule_inputs(community=community, day=day)
    if inputs is None:
        return []
    batteries, day_start, step = inputs.batteries, inputs.day_start, inputs.step_minutes
    best, with_kwh, without_kwh = schedule_solve(specs=inputs.specs, surplus_kwh=inputs.surplus_kwh,
                                                 inj0_kwh=inputs.inj0_kwh, wd0_kwh=inputs.wd0_kwh,
                                                 dt_h=step / 60.0)
    now = timezone.now()
    saved = []
    with transaction.atomic():
        for b, (asset, device) in enumerate(batteries):
            schedule, _ = BatterySchedule.objects.update_or_create(
                asset=asset, day=day,
                defaults={"community": community, "device": device, "issued_at": now, "start": day_start,
                          "step_minutes": step, "charge_kwh": _r(best.charge_kwh[b]),
                          "discharge_kwh": _r(best.discharge_kwh[b]), "soc_kwh": _r(best.soc_kwh[b]),
                          "expected_shared_kwh": round(with_kwh, 3),
                          "expected_shared_without_kwh": round(without_kwh, 3),
                          "created_by": actor, "command": None})
            saved.append(schedule)
        battery_schedule_notify(community=community, day=day, schedules=saved)
        steering = ForecastSettings.objects.filter(community=community, battery_steering=True).exists()
        if steering:
            ids = [s.pk for s in saved]
            transaction.on_commit(lambda: battery_schedules_send(schedule_ids=ids))
    for s in saved:
        s.refresh_from_db()
    return saved


def _r(a: np.ndarray) -> list[float]:
    return [round(float(v), 4) for v in a]


def command_payload(schedule: BatterySchedule) -> dict:
    """What the battery receives: power per interval (kW, + charge / - discharge) and the
    state of charge to reach at each interval's end (kWh)."""
    dt = schedule.step_minutes / 60.0
    power = [round((c - d) / dt, 3) for c, d in zip(schedule.charge_kwh, schedule.discharge_kwh, strict=True)]
    return {"day": schedule.day.isoformat(), "start": schedule.start.isoformat(),
            "step_minutes": schedule.step_minutes, "power_kw": power, "soc_kwh": schedule.soc_kwh}


def battery_schedules_send(*, schedule_ids: list[int]) -> int:
    """Send each schedule to its battery as one device command (acknowledged over MQTT and
    tracked on the command). Only for communities that opted in. Returns how many sent."""
    from iot.devices.commands import device_command_send

    sent = 0
    for schedule in BatterySchedule.objects.filter(pk__in=schedule_ids, device__isnull=False).select_related(
            "device", "community"):
        if not ForecastSettings.objects.filter(community=schedule.community, battery_steering=True).exists():
            continue
        try:
            command = device_command_send(device=schedule.device, command=COMMAND,
                                          payload=command_payload(schedule), user=schedule.created_by)
        except Conflict:
            continue  # an inactive device: the schedule stays "not sent"
        BatterySchedule.objects.filter(pk=schedule.pk).update(command=command)
        sent += 1
    return sent


def battery_schedule_measure(*, schedule: BatterySchedule) -> float | None:
    """Shared energy the schedule added on its day, measured (kWh):

        sum_h min(INJ_h, WD_h) - sum_h min(INJ_h + c_h - c'_h, WD_h + d_h - d'_h)

    INJ/WD: the community meters' measured export/import; c/d: the battery's measured
    charged/discharged energy; c'/d': what its own self-consumption rule would have done on
    its meter's measured surplus without the battery (export - import + c - d). None without
    measurements."""
    from iot.models import Device

    steps = len(schedule.charge_kwh)
    kw = {"start": schedule.start, "steps": steps, "step_minutes": schedule.step_minutes}
    meters = [list(Device.objects.filter(community=schedule.community, kind="meter")
                   .values_list("id", flat=True))]
    inj = measured.energy_matrix(devices_by_subject=meters, metric=measured.EXPORTED, **kw)[0]
    wd = measured.energy_matrix(devices_by_subject=meters, metric=measured.IMPORTED, **kw)[0]
    battery = [[schedule.device_id]] if schedule.device_id else [[]]
    c, d = (np.nan_to_num(measured.energy_matrix(devices_by_subject=battery, metric=m, **kw)[0])
            for m in (measured.CHARGED, measured.DISCHARGED))
    own = [list(Device.objects.filter(metering_point_id=schedule.asset.plant.metering_point_id, kind="meter")
                .values_list("id", flat=True))] if schedule.asset.plant.metering_point_id else [[]]
    own_inj, own_wd = (np.nan_to_num(measured.energy_matrix(devices_by_subject=own, metric=m, **kw)[0])
                       for m in (measured.EXPORTED, measured.IMPORTED))
    ok = ~np.isnan(inj) & ~np.isnan(wd)
    if not ok.any():
        return None
    spec = _spec(schedule.asset, schedule.device) if schedule.device_id else None
    if spec is None:
        return None
    first_soc = schedule.soc_kwh[0] - schedule.charge_kwh[0] * spec.charge_efficiency + (
        schedule.discharge_kwh[0] / spec.discharge_efficiency)
    spec = replace(spec, soc_initial_pct=float(np.clip(100 * first_soc / spec.capacity_kwh,
                                                       spec.soc_min_pct, spec.soc_max_pct)))
    surplus = (own_inj - own_wd + c - d)[None, :]
    rule = baseline_dispatch(DispatchProblem(
        dt_h=schedule.step_minutes / 60.0, surplus_kwh=surplus, battery_meter=np.array([0]), specs=[spec],
        inj0_kwh=inj, wd0_kwh=wd, sell_eur_per_kwh=np.zeros(steps), buy_eur_per_kwh=np.zeros(steps),
        rate_eur_per_kwh=np.ones(steps)))
    inj_cf = inj + c - rule.charge_kwh[0]
    wd_cf = wd + d - rule.discharge_kwh[0]
    added = float((np.minimum(inj[ok], wd[ok]) - np.minimum(inj_cf[ok], wd_cf[ok])).sum())
    BatterySchedule.objects.filter(pk=schedule.pk).update(measured_added_kwh=round(added, 3))
    return added


def battery_schedules_measure(*, community, day: date) -> int:
    n = 0
    for schedule in BatterySchedule.objects.filter(community=community, day=day).select_related(
            "asset", "asset__plant", "device"):
        n += battery_schedule_measure(schedule=schedule) is not None
    return n


def tomorrow(community) -> date:
    return (timezone.localtime(timezone.now(), calendar.zone(community.time_zone)) + timedelta(days=1)).date()
