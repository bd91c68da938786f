# ruff: noqa: S608  - SQL is assembled from module constants (table names, levels); values are bound.
"""Dashboard reads (seed 002: dashboard, activity, energy, battery) over a set of devices.

The devices come from `iot.read.selectors.devices_of` (scoped with `visible_to`). Energy is the
sum of counter differences from the rollups (`ENERGY_METRICS`); days, hours and months are
those of the community's time zone. Power sign convention (iot/catalogue.py): meter
+ import / - export, inverter + production, battery + discharge / - charge.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.utils import timezone

from iot.models import Alert, DeviceCommand
from iot.read.selectors import (
    ENERGY_METRICS,
    MAX_AUTO_POINTS,
    ROLLUP_TABLES,
    _too_many,
    energy_buckets,
    latest_values,
    max_points,
    metric_by_code,
    time_zone_of,
)

CURRENT_WITHIN = timedelta(minutes=15)  # an older power reading is not "current"
IDLE_BELOW_W = 50.0
BATTERY_METRICS = ["soc_pct", "power_w", "battery_temp_c", "battery_health_pct", "battery_cycles",
                   "voltage_v", "current_a"]


def local_midnight(day: date, tz: str) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz))


def _fresh(entry, now) -> float | None:
    if entry is None or now - entry["ts"] > CURRENT_WITHIN:
        return None
    return entry["value"]


def _sum(values) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) if values else None


def _rounded(value: float | None, digits: int) -> float | None:
    """Sums of floats carry binary noise (14887.199999999999); answers are rounded once,
    here: energy to the mWh (6 decimals of kWh), power to 0.1 W."""
    return None if value is None else round(value, digits)


def _battery_state(power_w: float | None) -> str | None:
    if power_w is None:
        return None
    if abs(power_w) < IDLE_BELOW_W:
        return "idle"
    return "discharging" if power_w > 0 else "charging"


def _grouped_energy(device_ids, resolution: str, start, end, tz: str, *, local_hours: bool = False) -> dict:
    """{bucket start: {response key: kWh}} summed over the devices (`energy_buckets`)."""
    keys = {code: key for key, code in ENERGY_METRICS.items()}
    rows = energy_buckets(device_ids=device_ids, resolution=resolution, start=start, end=end,
                          metric_codes=list(keys), by_local_hour_in=tz if local_hours else None)
    return {b: {keys[code]: total for code, total in values.items()} for b, values in rows.items()}


def _energy_row(t: datetime, tz: str, values: dict | None, with_date: bool) -> dict:
    values = values or {}
    row = {"t": t}
    if with_date:
        row["date"] = t.astimezone(ZoneInfo(tz)).date().isoformat()
    for key in ENERGY_METRICS:
        row[key] = _rounded(values.get(key), 6)
    produced, export = row["produced_kwh"], row["export_kwh"]
    row["self_consumed_kwh"] = (_rounded(max(produced - (export or 0.0), 0.0), 6)
                                if produced is not None else None)
    return row


def _totals(rows) -> dict:
    keys = [*ENERGY_METRICS, "self_consumed_kwh"]
    return {k: _rounded(_sum(r[k] for r in rows), 6) for k in keys}


def energy_hourly(*, devices, day: date) -> dict:
    """The local hours of one day (23, 24 or 25 of them), from the 15-minute rollups."""
    tz = time_zone_of(devices)
    # iterate in UTC: wall-clock arithmetic on an aware datetime would break on DST days
    start = local_midnight(day, tz).astimezone(UTC)
    end = local_midnight(day + timedelta(days=1), tz).astimezone(UTC)
    data = _grouped_energy([d.id for d in devices], "15m", start, end, tz, local_hours=True)
    rows, t = [], start
    while t < end:
        rows.append(_energy_row(t, tz, data.get(t), with_date=False))
        t += timedelta(hours=1)
    return {"date": day.isoformat(), "time_zone": tz, "resolution": "1h", "items": rows,
            "totals": _totals(rows)}


def energy_daily(*, devices, first: date, last: date) -> dict:
    """Local days first..last (inclusive), from the daily rollups."""
    tz = time_zone_of(devices)
    start, end = local_midnight(first, tz), local_midnight(last + timedelta(days=1), tz)
    data = _grouped_energy([d.id for d in devices], "1d", start, end, tz)
    rows = []
    day = first
    while day <= last:
        t = local_midnight(day, tz)
        rows.append(_energy_row(t, tz, data.get(t), with_date=True))
        day += timedelta(days=1)
    return {"start": first.isoformat(), "end": last.isoformat(), "time_zone": tz, "resolution": "1d",
            "items": rows, "totals": _totals(rows)}


def _month_add(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def energy_monthly(*, devices, months: int = 12, year: int | None = None) -> dict:
    """The last `months` local months (this one included), or the 12 months of `year`."""
    tz = time_zone_of(devices)
    if year is not None:
        first, count = date(year, 1, 1), 12
    else:
        today = timezone.now().astimezone(ZoneInfo(tz)).date()
        first, count = _month_add(today.replace(day=1), -(months - 1)), months
    start = local_midnight(first, tz)
    end = local_midnight(_month_add(first, count), tz)
    data = _grouped_energy([d.id for d in devices], "1mo", start, end, tz)
    rows = []
    for i in range(count):
        month = _month_add(first, i)
        row = _energy_row(local_midnight(month, tz), tz, data.get(local_midnight(month, tz)), False)
        row["month"] = month.strftime("%Y-%m")
        rows.append(row)
    return {"time_zone": tz, "resolution": "1mo", "items": rows, "totals": _totals(rows)}


def dashboard_overview(*, devices) -> dict:
    """Current power, today's energy, battery state and device health of the devices."""
    now = timezone.now()
    ids = [d.id for d in devices]
    latest = latest_values(device_ids=ids, metric_codes=["power_w", "soc_pct"])

    def power_of(kind):
        return _rounded(_sum(_fresh(latest[d.id].get("power_w"), now) for d in devices if d.kind == kind), 1)

    grid, production, battery = power_of("meter"), power_of("inverter"), power_of("battery")
    consumption = (_rounded((grid or 0) + (production or 0) + (battery or 0), 1)
                   if grid is not None else None)
    socs = [_fresh(latest[d.id].get("soc_pct"), now) for d in devices if d.kind == "battery"]
    socs = [s for s in socs if s is not None]
    today = energy_hourly(devices=devices, day=now.astimezone(ZoneInfo(time_zone_of(devices))).date())
    energy = today["totals"]
    produced, export, imported = energy["produced_kwh"], energy["export_kwh"], energy["import_kwh"]
    self_sufficiency = None
    if produced is not None and imported is not None and (produced - (export or 0)) + imported > 0:
        own = max(produced - (export or 0), 0.0)
        self_sufficiency = round(100 * own / (own + imported), 1)
    statuses = [d.status for d in devices]
    return {
        "as_of": now,
        "time_zone": today["time_zone"],
        "power_w": {"grid": grid, "production": production, "battery": battery,
                    "consumption": consumption},
        "energy_today_kwh": energy,
        "self_sufficiency_today_pct": self_sufficiency,
        "battery": {"soc_pct": round(sum(socs) / len(socs), 1) if socs else None,
                    "power_w": battery, "state": _battery_state(battery)},
        "devices": {"total": len(devices), "online": statuses.count("online"),
                    "offline": statuses.count("offline"), "error": statuses.count("error")},
    }


def _device_ref(device) -> dict:
    return {"id": device.id, "serial": device.serial, "name": str(device), "kind": device.kind}


def recent_activity(*, devices, limit: int = 10) -> list[dict]:
    """The newest events of the devices: offline/back-online alerts and commands."""
    by_id = {d.id: d for d in devices}
    events = []
    for alert in Alert.objects.filter(device_id__in=by_id).order_by("-opened_at", "-id")[:limit]:
        events.append({"type": f"alert.{alert.kind}", "at": alert.opened_at, "message": alert.message,
                       "open": alert.is_open, "device": _device_ref(by_id[alert.device_id])})
    for cmd in DeviceCommand.objects.filter(device_id__in=by_id).order_by("-created_at", "-id")[:limit]:
        events.append({"type": f"command.{cmd.status}", "at": cmd.acked_at or cmd.sent_at or cmd.created_at,
                       "message": f"{cmd.command} {cmd.status}", "device": _device_ref(by_id[cmd.device_id])})
    events.sort(key=lambda e: e["at"], reverse=True)
    return events[:limit]


def _battery_assets(devices) -> dict:
    """{plant id: battery Asset} for the plants of the devices (first battery of each)."""
    from plants.models import Asset

    plants = {d.plant_id for d in devices if d.plant_id}
    assets = {}
    for asset in Asset.objects.batteries().filter(plant_id__in=plants).order_by("id"):
        assets.setdefault(asset.plant_id, asset)
    return assets


def battery_status(*, devices) -> dict:
    now = timezone.now()
    latest = latest_values(device_ids=[d.id for d in devices], metric_codes=BATTERY_METRICS)
    assets = _battery_assets(devices)
    items, stored, capacity = [], 0.0, 0.0
    for d in devices:
        values = latest[d.id]
        soc = values.get("soc_pct", {}).get("value")
        power = _fresh(values.get("power_w"), now)
        asset = assets.get(d.plant_id)
        cap = float(asset.capacity_kwh) if asset and asset.capacity_kwh else None
        if cap and soc is not None:
            stored += cap * soc / 100
            capacity += cap
        items.append({
            "device": _device_ref(d), "status": d.status, "state": _battery_state(power),
            "soc_pct": soc, "power_w": power,
            "temperature_c": values.get("battery_temp_c", {}).get("value"),
            "health_pct": values.get("battery_health_pct", {}).get("value"),
            "cycles": values.get("battery_cycles", {}).get("value"),
            "voltage_v": values.get("voltage_v", {}).get("value"),
            "current_a": values.get("current_a", {}).get("value"),
            "capacity_kwh": cap,
            "stored_kwh": round(cap * soc / 100, 3) if cap and soc is not None else None,
            "updated_at": max((v["ts"] for v in values.values()), default=None),
        })
    socs = [i["soc_pct"] for i in items if i["soc_pct"] is not None]
    return {
        "as_of": now, "batteries": items,
        "soc_pct": (round(100 * stored / capacity, 1) if capacity
                    else (round(sum(socs) / len(socs), 1) if socs else None)),
        "stored_kwh": round(stored, 3) if capacity else None,
        "capacity_kwh": capacity or None,
    }


def _resolutions(*, device_ids: list[int], metric_ids: list[int], start, end) -> dict[tuple[int, int], str]:
    """`resolution_auto` for many (device, metric) pairs in one query: per pair, the finest
    level with at most MAX_AUTO_POINTS stored rows (each count stops at MAX_AUTO_POINTS + 1)."""
    if not device_ids:
        return {}
    limit = MAX_AUTO_POINTS + 1
    counts = [f"(SELECT count(*) FROM (SELECT 1 FROM iot_reading r WHERE r.device_id = p.d"
              f" AND r.metric_id = p.m AND r.ts >= %(s)s AND r.ts < %(e)s LIMIT {limit}) t)"]
    for level in ("15m", "1h", "1d"):
        counts.append(f"(SELECT count(*) FROM (SELECT 1 FROM {ROLLUP_TABLES[level]} x WHERE x.device_id = p.d"
                      f" AND x.metric_id = p.m AND x.bucket >= %(s)s AND x.bucket < %(e)s LIMIT {limit}) t)")
    sql = (f"SELECT p.d, p.m, {', '.join(counts)} FROM unnest(%(d)s::bigint[]) AS dd(d)"
           " CROSS JOIN LATERAL (SELECT dd.d AS d, mm.m AS m FROM unnest(%(m)s::bigint[]) AS mm(m)) p")
    with connection.cursor() as cursor:
        cursor.execute(sql, {"d": device_ids, "m": metric_ids, "s": start, "e": end})
        rows = cursor.fetchall()
    out = {}
    for device_id, metric_id, *level_counts in rows:
        out[(device_id, metric_id)] = next(
            (level for level, n in zip(("raw", "15m", "1h", "1d"), level_counts, strict=True)
             if n <= MAX_AUTO_POINTS), "1mo")
    return out


def _series_many(*, pairs: list[tuple[int, int]], resolution: str, start, end) -> dict[tuple[int, int], dict]:
    """{(device, metric): {"t", "value"}} at one resolution, for many pairs, in one query."""
    if not pairs:
        return {}
    cap = max_points()
    if resolution == "raw":
        source, t, value = "iot_reading", "ts", "value"
    else:
        source, t, value = ROLLUP_TABLES[resolution], "bucket", "sum_value / n"
    sql = (f"SELECT p.d, p.m, s.n, s.t, s.v FROM unnest(%(d)s::bigint[], %(m)s::bigint[]) AS p(d, m)"
           f" CROSS JOIN LATERAL (SELECT count(*) AS n, array_agg(t) AS t, array_agg(v) AS v FROM ("
           f"SELECT {t} AS t, {value} AS v FROM {source} WHERE device_id = p.d AND metric_id = p.m"
           f" AND {t} >= %(s)s AND {t} < %(e)s ORDER BY {t} LIMIT %(cap)s) q) s")
    with connection.cursor() as cursor:
        cursor.execute(sql, {"d": [d for d, _ in pairs], "m": [m for _, m in pairs], "s": start, "e": end,
                             "cap": cap + 1})
        rows = cursor.fetchall()
    out = {}
    for device_id, metric_id, n, ts, values in rows:
        if n > cap:
            raise _too_many(resolution, cap)
        out[(device_id, metric_id)] = {"t": ts or [], "value": values or []}
    return out


def battery_history(*, devices, hours: int) -> dict:
    """State of charge and power of each battery over the last `hours`, each series at its
    own automatic resolution; one query chooses every resolution, one query per resolution
    in use reads the series (not one per device and metric)."""
    end = timezone.now()
    start = end - timedelta(hours=hours)
    soc, power = metric_by_code("soc_pct"), metric_by_code("power_w")
    metrics = (soc, power)
    chosen = _resolutions(device_ids=[d.id for d in devices], metric_ids=[m.id for m in metrics],
                          start=start, end=end)
    series: dict[tuple[int, int], dict] = {}
    for resolution in sorted(set(chosen.values())):
        pairs = [pair for pair, res in chosen.items() if res == resolution]
        series.update(_series_many(pairs=pairs, resolution=resolution, start=start, end=end))
    items = []
    for d in devices:
        one = {m.code: {"resolution": chosen[(d.id, m.id)], **series[(d.id, m.id)]} for m in metrics}
        items.append({"device": _device_ref(d), "soc_pct": one["soc_pct"], "power_w": one["power_w"]})
    return {"start": start, "end": end, "hours": hours, "batteries": items}


def battery_health(*, devices, days: int = 30) -> dict:
    now = timezone.now()
    latest = latest_values(device_ids=[d.id for d in devices],
                           metric_codes=["battery_health_pct", "battery_cycles"])
    assets = _battery_assets(devices)
    since = now - timedelta(days=days)
    # one grouped query for every battery (not one per device)
    sql = ("SELECT x.device_id, m.code, min(x.min_value), max(x.max_value), sum(x.sum_value) / sum(x.n),"
           f" (array_agg(x.first_value ORDER BY x.bucket))[1] FROM {ROLLUP_TABLES['1h']} x"
           " JOIN iot_metric m ON m.id = x.metric_id WHERE x.device_id = ANY(%s)"
           " AND m.code IN ('battery_temp_c', 'battery_health_pct', 'battery_cycles')"
           " AND x.bucket >= %s GROUP BY 1, 2")
    by_device: dict[int, dict] = {}
    if devices:
        with connection.cursor() as cursor:
            cursor.execute(sql, [[d.id for d in devices], since])
            for device_id, code, lo, hi, mean, first in cursor.fetchall():
                by_device.setdefault(device_id, {})[code] = (lo, hi, mean, first)
    items = []
    for d in devices:
        stats = by_device.get(d.id, {})
        temp = stats.get("battery_temp_c")
        health_now = latest[d.id].get("battery_health_pct", {}).get("value")
        health_then = stats.get("battery_health_pct", (None,) * 4)[3]
        cycles_now = latest[d.id].get("battery_cycles", {}).get("value")
        cycles_then = stats.get("battery_cycles", (None,) * 4)[3]
        asset = assets.get(d.plant_id)
        items.append({
            "device": _device_ref(d),
            "health_pct": health_now,
            "health_change_pct": (round(health_now - health_then, 2)
                                  if health_now is not None and health_then is not None else None),
            "cycles": cycles_now,
            "cycles_in_period": (round(cycles_now - cycles_then, 2)
                                 if cycles_now is not None and cycles_then is not None else None),
            "temperature_c": ({"min": temp[0], "max": temp[1], "mean": round(temp[2], 2)} if temp else None),
            "capacity_kwh": float(asset.capacity_kwh) if asset and asset.capacity_kwh else None,
            "installed_on": asset.installed_on if asset else None,
        })
    return {"as_of": now, "period_days": days, "batteries": items}
