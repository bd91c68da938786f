"""Forecast speed (issue 12): a community of METERS metering points and PLANTS plants with
`FORECAST_HISTORY_DAYS` of measured history at the community's step, forecast 48 hours
ahead with `forecasts.issue.forecast_issue` (goal < 10 s; peak memory reported), then the
battery schedule of BATTERIES batteries for the next local day with
`forecasts.steering.battery_schedules_plan` (goal < 5 s).

Baselines, in the same run and on the same data: the forecast's own database read alone
(the history matrices of every plant and meter, `forecasts.measured.energy_matrix`) and a
persistence forecast over it (the last day, repeated); for the batteries, their own
self-consumption rule over the same forecast (`baseline_dispatch`), and the LP solved one
battery at a time.

History: PV = pvlib clear sky per plant x a day's cloudiness x the plant's ratio (the
tests' `forecasts.testing.truth_production`); load = the BDEW household (H0; one in ten a
shop, G0) profile x a lognormal annual consumption x 15 % noise per interval; ~0.5 % of
the intervals missing and 1 % of the meters new (no history: the BDEW fallback). Written
with COPY straight into the rollup table the forecast reads (`iot_rollup_1h`, or
`iot_rollup_15m` for a 15-minute regime).

Everything happens inside one transaction that is rolled back at the end. Sizes:
BENCH_FORECAST_METERS (1000), BENCH_FORECAST_PLANTS (100), BENCH_FORECAST_BATTERIES (20),
BENCH_FORECAST_HISTORY_DAYS (`FORECAST_HISTORY_DAYS`, 28), BENCH_FORECAST_REGIME (it_cer:
hourly; fr_acc or at_eeg: 15 minutes).
"""

from __future__ import annotations

import os
import time
import tracemalloc
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.test import override_settings

ISSUE = datetime(2025, 6, 17, 4, tzinfo=UTC)  # 06:00 in Rome, as the morning beat issue
FORECAST_GOAL_S = 10.0
SCHEDULE_GOAL_S = 5.0


class _Rollback(Exception):
    pass


def _sizes() -> dict:
    env = os.environ.get
    return {"meters": int(env("BENCH_FORECAST_METERS", "1000")),
            "plants": int(env("BENCH_FORECAST_PLANTS", "100")),
            "batteries": int(env("BENCH_FORECAST_BATTERIES", "20")),
            "history_days": int(env("BENCH_FORECAST_HISTORY_DAYS", str(settings.FORECAST_HISTORY_DAYS))),
            "regime": env("BENCH_FORECAST_REGIME", "it_cer")}


def _community(size: dict, rng: np.random.Generator):
    """A community, its members' metering points (each with a meter device; 1 % without
    history carry a declared profile), plants on the first points (an inverter each) and
    batteries on the first plants (asset + battery device)."""
    from django.contrib.gis.geos import Point

    from accounts.models import Organization, User
    from communities.models import Community, Membership, MeteringPoint
    from iot.catalogue import metrics_ensure
    from iot.models import Device
    from plants.models import Asset, Plant

    metrics_ensure()
    n, n_plants, tag = size["meters"], size["plants"], uuid.uuid4().hex[:8]
    org = Organization.objects.create(name=f"Bench {tag}", slug=f"bench-{tag}")
    community = Community.objects.create(name=f"Bench forecast {tag}", slug=f"bench-{tag}", status="active",
                                         regime=size["regime"], primary_substation="AC-BENCH",
                                         organization=org)
    users = User.objects.bulk_create(
        [User(email=f"bench-{tag}-{i}@example.com", username=f"bench-{tag}-{i}", password="!")
         for i in range(n)], batch_size=5000)
    members = Membership.objects.bulk_create(
        [Membership(user=u, community=community, joined_at=date(2024, 1, 1),
                    member_type="prosumer" if i < n_plants else "consumer") for i, u in enumerate(users)],
        batch_size=5000)
    points = MeteringPoint.objects.bulk_create(
        [MeteringPoint(code=f"ITB{tag}{i:06d}", membership=m,
                       direction="both" if i < n_plants else "withdrawal") for i, m in enumerate(members)],
        batch_size=5000)
    # a community within a few km of one primary substation: every plant on its own site
    kwp = np.where(rng.random(n_plants) < 0.75, rng.uniform(3, 12, n_plants), rng.uniform(20, 200, n_plants))
    plants = Plant.objects.bulk_create(
        [Plant(name=f"PV {i}", owner=users[i], community=community, metering_point=points[i],
               location=Point(11.30 + rng.uniform(0, 0.06), 44.47 + rng.uniform(0, 0.04), srid=4326),
               capacity_kwp=Decimal(f"{kwp[i]:.2f}"), tilt_deg=int(rng.choice([10, 20, 30, 35])),
               azimuth_deg=int(rng.choice([135, 160, 180, 200, 225])), commissioned_on=date(2022, 1, 1))
         for i in range(n_plants)], batch_size=5000)
    new = set(rng.choice(n, max(1, n // 100), replace=False).tolist()) if n >= 10 else set()
    meters = Device.objects.bulk_create(
        [Device(serial=f"BENCH-{tag}-M{i}", kind="meter", metering_point=p, community=community,
                connection={"profile": "H0", "annual_kwh": 2700} if i in new else {})
         for i, p in enumerate(points)], batch_size=5000)
    inverters = Device.objects.bulk_create(
        [Device(serial=f"BENCH-{tag}-I{i}", kind="inverter", plant=p, community=community)
         for i, p in enumerate(plants)], batch_size=5000)
    n_bat = min(size["batteries"], n_plants)
    Asset.objects.bulk_create(
        [Asset(plant=plants[i], kind="battery", capacity_kwh=Decimal(round(float(kwp[i]) * 1.5, 1)),
               power_kw=Decimal(round(float(kwp[i]) * 0.5, 1)), round_trip_efficiency=Decimal("0.9"),
               soc_min_pct=10, soc_max_pct=95) for i in range(n_bat)])
    Device.objects.bulk_create(
        [Device(serial=f"BENCH-{tag}-B{i}", kind="battery", plant=plants[i], community=community)
         for i in range(n_bat)])
    return community, plants, meters, inverters, new


def _history(plants, meters, inverters, new: set, h, rng: np.random.Generator) -> int:
    """COPY `h.history_steps` intervals of measured energy into the rollup table the forecast
    reads: produced by every inverter, imported by every meter but the new ones."""
    from forecasts import calendar, testing
    from iot.models import Metric
    from iot.read.selectors import ROLLUP_TABLES
    from simulation.physics import load_kw

    steps, step_min = h.history_steps, h.step_minutes
    hours = -(-steps * step_min // 60)
    index = calendar.grid(h.history_start, steps, step_min)
    shapes = {p: load_kw(profile=p, annual_kwh=1.0, index=index, seed=None, time_zone=h.time_zone).to_numpy()
              * h.step_h for p in ("H0", "G0")}
    n = len(meters)
    annual = rng.lognormal(np.log(2700), 0.4, n)
    shop = rng.random(n) < 0.1
    load = np.where(shop[:, None], shapes["G0"], shapes["H0"]) * annual[:, None]
    load *= rng.lognormal(0, 0.15, (n, steps))
    pv = np.empty((len(plants), steps))
    for k, plant in enumerate(plants):
        hourly = testing.truth_production(
            lat=plant.location.y, lon=plant.location.x, kwp=float(plant.capacity_kwp), start=h.history_start,
            hours=hours, seed=k, ratio=float(rng.uniform(0.75, 0.9)), tilt_deg=float(plant.tilt_deg),
            azimuth_deg=float(plant.azimuth_deg))
        pv[k] = np.repeat(hourly, 60 // step_min)[:steps] * (step_min / 60)
    metric = dict(Metric.objects.filter(code__in=["energy_produced_kwh", "energy_import_kwh"])
                  .values_list("code", "id"))
    buckets = list(index.to_pydatetime())
    span = timedelta(minutes=step_min) - timedelta(seconds=1)
    table = ROLLUP_TABLES["15m" if step_min == 15 else "1h"]
    sql = (f"COPY {table} (device_id, metric_id, bucket, n, min_value, max_value, sum_value, first_value,"
           " last_value, first_ts, last_ts, delta) FROM STDIN")
    rows = 0
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        copy.set_types(["int8", "int4", "timestamptz", "int4"] + ["float8"] * 5
                       + ["timestamptz", "timestamptz", "float8"])
        series = [(d.pk, metric["energy_produced_kwh"], pv[k]) for k, d in enumerate(inverters)]
        series += [(d.pk, metric["energy_import_kwh"], load[i]) for i, d in enumerate(meters) if i not in new]
        for device_id, metric_id, values in series:
            kept = rng.random(steps) >= 0.005  # a few intervals lost, as real meters do
            for j in np.flatnonzero(kept).tolist():
                v, b = float(values[j]), buckets[j]
                copy.write_row((device_id, metric_id, b, 2, 0.0, v, v, 0.0, v, b, b + span, v))
            rows += int(kept.sum())
    with connection.cursor() as cursor:  # as autovacuum would have, in production
        cursor.execute(f"ANALYZE {table}")
        cursor.execute("ANALYZE iot_device")
    return rows


def _rss_mb(field: str) -> float | None:
    """VmRSS (now) or VmHWM (peak since the last reset) of this process, from /proc."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def _rss_peak_reset() -> bool:
    """Reset VmHWM (Linux >= 4.0), so the next peak is the forecast's own, not the setup's."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def _issue(community, *, trace: bool) -> dict:
    from forecasts.issue import forecast_issue

    if trace:
        tracemalloc.start()
    t0, cpu0 = time.perf_counter(), time.process_time()
    summary = forecast_issue(community=community, issued_at=ISSUE)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    if trace:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return {"peak_traced_mb": round(peak / 2**20, 1)}  # tracemalloc slows Python: no time from it
    # cpu_s: this process's CPU time (not the database's), less moved by other work than wall_s
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "stages_s": summary["seconds"],
            "methods": summary["methods"],
            "production_kwh": summary["production_kwh"], "consumption_kwh": summary["consumption_kwh"],
            "shared_kwh": summary["shared_kwh"]}


def _forecast_baseline(community, plants, h) -> dict:
    """The history read the forecast needs, alone, and persistence (the last day, twice)."""
    from forecasts import measured
    from forecasts.issue import _devices_by, _metering_points

    t0 = time.perf_counter()
    meter_ids = [mp.pk for mp in _metering_points(community)]
    hist = [measured.energy_matrix(devices_by_subject=_devices_by(field, ids, kinds), metric=metric,
                                   start=h.history_start, steps=h.history_steps, step_minutes=h.step_minutes)
            for field, ids, kinds, metric in (
                ("plant", [p.pk for p in plants], ("inverter", "meter"), measured.PRODUCED),
                ("metering_point", meter_ids, ("meter",), measured.IMPORTED))]
    t1 = time.perf_counter()
    day = h.steps_per_day
    persistence = [np.tile(m[:, -day:], (1, -(-h.steps // day)))[:, : h.steps] for m in hist]
    t2 = time.perf_counter()
    return {"history_read_s": round(t1 - t0, 3), "persistence_s": round(t2 - t1, 4),
            "history_values": int(sum(np.isfinite(m).sum() for m in hist)),
            "persistence_shape": [list(p.shape) for p in persistence]}


def _schedule(community) -> dict:
    from forecasts import calendar
    from forecasts.steering import battery_schedules_plan, schedule_inputs, schedule_solve
    from simulation.engine.dispatch import DispatchProblem, baseline_dispatch

    day = (ISSUE.astimezone(calendar.zone(community.time_zone)) + timedelta(days=1)).date()
    t0 = time.perf_counter()
    saved = battery_schedules_plan(community=community, day=day)
    plan_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    inputs = schedule_inputs(community=community, day=day)
    inputs_s = time.perf_counter() - t0
    dt_h, n_t = inputs.step_minutes / 60.0, len(inputs.inj0_kwh)
    t0 = time.perf_counter()
    schedule_solve(specs=inputs.specs, surplus_kwh=inputs.surplus_kwh, inj0_kwh=inputs.inj0_kwh,
                   wd0_kwh=inputs.wd0_kwh, dt_h=dt_h)
    solve_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    baseline_dispatch(DispatchProblem(
        dt_h=dt_h, surplus_kwh=inputs.surplus_kwh, battery_meter=np.arange(len(inputs.specs)),
        specs=inputs.specs, inj0_kwh=inputs.inj0_kwh, wd0_kwh=inputs.wd0_kwh, sell_eur_per_kwh=np.zeros(n_t),
        buy_eur_per_kwh=np.zeros(n_t), rate_eur_per_kwh=np.ones(n_t)))
    rule_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for b, spec in enumerate(inputs.specs):
        schedule_solve(specs=[spec], surplus_kwh=inputs.surplus_kwh[b:b + 1], inj0_kwh=inputs.inj0_kwh,
                       wd0_kwh=inputs.wd0_kwh, dt_h=dt_h)
    one_by_one_s = time.perf_counter() - t0
    first = saved[0] if saved else None
    return {"day": day.isoformat(), "batteries": len(saved), "steps": n_t, "wall_s": round(plan_s, 3),
            "inputs_s": round(inputs_s, 3), "lp_s": round(solve_s, 3),
            "expected_shared_kwh": first.expected_shared_kwh if first else None,
            "expected_shared_rule_kwh": first.expected_shared_without_kwh if first else None,
            "baseline": {"own_rule_s": round(rule_s, 4),
                         "lp_one_battery_at_a_time_s": round(one_by_one_s, 3)},
            "meets_goal": plan_s < SCHEDULE_GOAL_S}


def run() -> dict:
    from forecasts.issue import horizon_for

    size = _sizes()
    out: dict = {**size, "issued_at": ISSUE.isoformat(), "horizon_h": settings.FORECAST_HORIZON_HOURS,
                 "load_avg_1m_before": round(os.getloadavg()[0], 1)}  # the figures move with it
    rng = np.random.default_rng(12)
    try:
        with override_settings(FORECAST_HISTORY_DAYS=size["history_days"]), transaction.atomic():
            t0 = time.perf_counter()
            community, plants, meters, inverters, new = _community(size, rng)
            h = horizon_for(community, ISSUE)
            rows = _history(plants, meters, inverters, new, h, rng)
            out.update({"step_minutes": h.step_minutes, "history_steps": h.history_steps,
                        "rollup_rows": rows, "setup_s": round(time.perf_counter() - t0, 1)})
            rss_before, reset = _rss_mb("VmRSS"), _rss_peak_reset()
            out["forecast"] = forecast = _issue(community, trace=False)
            forecast["rss_before_mb"] = rss_before
            forecast["peak_rss_mb"] = _rss_mb("VmHWM") if reset else None
            forecast["warm_wall_s"] = _issue(community, trace=False)["wall_s"]
            forecast.update(_issue(community, trace=True))
            forecast["baseline"] = _forecast_baseline(community, plants, h)
            forecast["ratio_to_history_read"] = round(
                forecast["wall_s"] / max(forecast["baseline"]["history_read_s"], 1e-9), 1)
            forecast["meets_goal"] = forecast["wall_s"] < FORECAST_GOAL_S
            out["battery_schedule"] = _schedule(community)
            raise _Rollback
    except _Rollback:
        pass
    out["load_avg_1m_after"] = round(os.getloadavg()[0], 1)
    return out
