"""The demo community's forecasts (issue 12), so that `make run` shows them at once:

1. history: `FORECAST_HISTORY_DAYS` + 8 days of hourly registers for every demo inverter
   (`energy_produced_kwh`) and smart meter (`energy_import_kwh`, `energy_export_kwh`), each
   continuing from the device's last stored reading (the settlement demo's month, an earlier
   run of this seed) and never rewriting it, written through the one ingest path and rolled
   up. Production is pvlib's clear sky at the plant x the town's sky (one seeded weather for
   the community: a day's cloudiness, AR(1) day to day, and passing clouds hour to hour) x
   the plant's own ratio (`plant_pv_kwh`); a smart meter's import and export are its
   member's load (`settlement.demo`) against the same PV of the POD's plants, so the
   settlement's month, the inverters and the meters agree;
2. the last three days' day-ahead forecasts (each issued at 12:10 local the day before, from the
   history known then) scored against what was measured, so the skill page has days;
3. today's forecast, the community opted in to battery steering, today's and tomorrow's
   battery schedules planned and sent to the demo batteries by a Celery task once the
   platform runs (the broker is not up while the seed runs), and tomorrow's green windows
   told to the members.

Idempotent: the history continues where it stopped; forecasts and scores are replaced.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import connection
from django.utils import timezone

from forecasts import calendar, testing

SCORED_DAYS = 14  # two weeks: three days of weather decide nothing about a skill
SEND_AFTER_S = 45  # the worker and the broker start with `make run`: send once they are up


def _latest(device_id: int, metric: str) -> tuple[datetime, float] | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT r.ts, r.value FROM iot_reading r JOIN iot_metric m ON m.id = r.metric_id"
                       " WHERE r.device_id = %s AND m.code = %s ORDER BY r.ts DESC LIMIT 1",
                       [device_id, metric])
        row = cursor.fetchone()
    return (row[0], float(row[1])) if row else None


def _continue(device, metric: str, start: datetime, hourly_kwh: np.ndarray) -> list[dict]:
    """Registers for the hours of `hourly_kwh` (from `start`) after the device's last stored
    reading, continuing its value."""
    last = _latest(device.pk, metric)
    if last is None:
        return testing.readings(device.serial, metric, start, hourly_kwh)
    last_ts, register = last
    first = max(0, int(np.ceil((last_ts - start + timedelta(seconds=1)).total_seconds() / 3600)))
    if first >= len(hourly_kwh):
        return []
    out = []
    for h in range(first, len(hourly_kwh)):
        register += float(max(hourly_kwh[h], 0.0))
        ts = start + timedelta(hours=h + 1) - timedelta(seconds=1)
        out.append({"device": device.serial, "metric": metric, "ts": ts.isoformat(),
                    "value": round(register, 5)})
    return out


def plant_pv_kwh(plant, start: datetime, hours: int) -> np.ndarray:
    """Hourly kWh a demo plant produced from `start`: pvlib's clear sky at the plant x the
    town's sky (`forecasts.testing.sky_clearness`, one weather for the whole community, the
    plant's own few per cent on top) x the plant's own ratio. A pure function of the plant
    and the hour: its inverter's history and the POD's smart meter (`settlement.demo`) agree."""
    sky = testing.sky_clearness(region=plant.community.slug, start=start, hours=hours,
                                site=f"plant-{plant.pk}")
    return testing.truth_production(
        lat=plant.location.y, lon=plant.location.x, kwp=float(plant.capacity_kwp), start=start, hours=hours,
        seed=0, ratio=0.8 + 0.1 * (plant.pk % 3) / 2, tilt_deg=float(plant.tilt_deg),
        azimuth_deg=float(plant.azimuth_deg), clearness=sky)


def history_write(*, community, end: datetime, days: int) -> int:
    """Hourly registers for the community's inverters and smart meters over `days` days
    before `end` (a whole hour), continuing what is stored. Returns the readings written."""
    from iot.models import Device
    from plants.models import Plant

    start = end - timedelta(days=days)
    hours = days * 24
    plants = list(Plant.objects.filter(community=community).select_related("community").order_by("pk"))
    pv = {p.pk: plant_pv_kwh(p, start, hours) for p in plants}
    items: list[dict] = []
    # one inverter per plant: the demo's field devices (Modbus, OPC UA, ...) report only
    # while the platform runs; a second history would count the plant twice
    seen: set[int] = set()
    for inverter in (Device.objects.filter(community=community, kind="inverter", plant__isnull=False,
                                           protocol="mqtt").order_by("pk")):
        if inverter.plant_id not in seen:
            seen.add(inverter.plant_id)
            items += _continue(inverter, "energy_produced_kwh", start, pv[inverter.plant_id])
    # smart meters: the settlement demo's load shapes, the POD's plants' PV
    from settlement.demo import meter_net_kwh

    tz = calendar.zone(community.time_zone)
    for meter in Device.objects.filter(community=community, kind="meter",
                                       metering_point__isnull=False).select_related("metering_point"):
        behind = [pv[p.pk] for p in plants if p.metering_point_id == meter.metering_point_id]
        net = np.array(meter_net_kwh(meter, start, hours, tz, np.sum(behind, axis=0) if behind else None))
        items += _continue(meter, "energy_import_kwh", start, np.maximum(-net, 0.0))
        items += _continue(meter, "energy_export_kwh", start, np.maximum(net, 0.0))
    if items:
        testing.write(items)
    return len(items)


def seed(ctx: dict, out) -> None:
    from forecasts.issue import forecast_issue
    from forecasts.models import ForecastSettings
    from forecasts.notify import green_windows_notify
    from forecasts.scoring import forecast_score_day
    from forecasts.steering import battery_schedules_plan

    community = ctx.get("community")
    if community is None:
        out.write("forecasts: no demo community")
        return
    tz = calendar.zone(community.time_zone)
    now = timezone.now()
    end = now.replace(minute=0, second=0, microsecond=0)
    written = history_write(community=community, end=end,
                            days=settings.FORECAST_HISTORY_DAYS + SCORED_DAYS + 1)
    today = timezone.localtime(now, tz).date()
    skills = []
    for back in range(SCORED_DAYS, 0, -1):
        day = today - timedelta(days=back)
        issued_at = datetime.combine(day - timedelta(days=1), datetime.min.time(), tz).replace(hour=12,
                                                                                              minute=10)
        forecast_issue(community=community, issued_at=issued_at)
        scores = forecast_score_day(community=community, day=day)
        skills += [s.skill for s in scores if s.kind == "community" and s.skill is not None]
    summary = forecast_issue(community=community)
    ForecastSettings.objects.update_or_create(community=community, defaults={"battery_steering": False})
    planned = []
    for day in (today, today + timedelta(days=1)):
        planned += battery_schedules_plan(community=community, day=day)  # not sent: steering is off
    ForecastSettings.objects.filter(community=community).update(battery_steering=True)
    if planned:
        from forecasts.tasks import battery_schedules_send_task

        ids = [s.pk for s in planned]
        battery_schedules_send_task.apply_async(kwargs={"schedule_ids": ids}, countdown=SEND_AFTER_S)
    told = green_windows_notify(community=community)
    mean = f"{np.mean(skills):+.2f}" if skills else "n/a"
    out.write(f"forecasts: {written} history readings; {SCORED_DAYS} days scored (community skill vs "
              f"persistence, mean {mean}); shared energy expected in 48 h {summary['shared_kwh']} kWh; "
              f"{len(planned)} battery schedules (sent once the platform runs); {told} members told "
              f"tomorrow's green windows")
