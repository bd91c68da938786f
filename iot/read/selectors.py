# ruff: noqa: S608  - SQL is assembled from module constants (table names, levels); values are bound.
"""Reads of telemetry: series from the rollups (or raw), latest values, energy sums.

Every function takes ids that the caller has already scoped with `visible_to(user)`
(`devices_of` and `device_visible` are the scoping entry points); the SQL here only reads
what it is given. Series come back as columns (lists) fetched with `array_agg` in one row,
ready for orjson: no model instances on the hot path (shared/PITFALLS.md, REST).

Rollup buckets are returned when their start lies in [start, end). Daily and monthly
buckets are the community's local days and months (see iot/rollups/service.py).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils.translation import gettext

from core.errors import ApiError
from core.scoping import get_manageable
from iot.models import Device, Metric
from iot.rollups.tables import ROLLUP_TABLES

RESOLUTIONS = ("raw", "15m", "1h", "1d", "1mo")
MAX_AUTO_POINTS = 2000

ENERGY_METRICS = {
    # response key -> counter metric (kWh registers, differenced by the rollups)
    "import_kwh": "energy_import_kwh",
    "export_kwh": "energy_export_kwh",
    "produced_kwh": "energy_produced_kwh",
    "charged_kwh": "energy_charged_kwh",
    "discharged_kwh": "energy_discharged_kwh",
}


def max_points() -> int:
    return settings.IOT_QUERY_MAX_POINTS


# --- scoping entry points -------------------------------------------------------------

def device_visible(*, user, device_id: int) -> int:
    """`device_id` if `user` may read that device; the 404 envelope otherwise (existence is
    not leaked). One EXISTS query: the series endpoints need nothing else of the device."""
    if not Device.objects.visible_to(user).filter(pk=device_id).exists():
        raise ApiError("Device not found.", error="NotFound", status_code=404)
    return device_id


def own_devices_q(target) -> Q:
    """Devices that are `target`'s own: on their plants or their metering points."""
    return Q(plant__owner=target) | Q(metering_point__membership__user=target)


def devices_of(*, user, community_id: int | None = None, target=None, kinds=None) -> list[Device]:
    """The devices a dashboard of `user` covers.

    Without `community_id`: the devices of `target` (default: the user), as far as `user`
    may see them. With `community_id`: every device of that community, only for someone
    who manages it (referent, vendor, admin); a member gets 403, an outsider 404.
    """
    qs = Device.objects.visible_to(user)
    if community_id is not None:
        community = community_managed(user=user, community_id=community_id)
        qs = qs.filter(community=community)
    else:
        qs = qs.filter(own_devices_q(target or user))
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return list(qs.select_related("community").order_by("id").distinct())


def community_managed(*, user, community_id: int):
    """The community, if `user` manages it (the one rule, `core.scoping.get_manageable`):
    invisible is NotFound (404), visible but not managed (a member) is Forbidden (403)."""
    from communities.models import Community

    return get_manageable(Community.objects.all(), user, pk=community_id,
                          message=gettext("Only the community's referents may see the whole community."))


def metric_by_code(code: str | None) -> Metric:
    if not code:
        raise ApiError("metric: this parameter is required.", details={"metric": ["Required."]})
    metric = Metric.objects.filter(code=code).first()
    if metric is None:
        raise ApiError(f"metric: unknown metric {code!r}.", details={"metric": [f"Unknown metric {code!r}."]})
    return metric


def time_zone_of(devices) -> str:
    """Reporting time zone: the (first) community's, else UTC."""
    for device in devices:
        if device.community_id:
            return device.community.time_zone
    return "UTC"


# --- series -----------------------------------------------------------------------------

def resolution_auto(*, device_id: int, metric_id: int, start: datetime, end: datetime) -> str:
    """The finest resolution that answers with at most MAX_AUTO_POINTS points (counted on the
    stored rows, each count stopping at MAX_AUTO_POINTS + 1), else monthly."""
    limit = MAX_AUTO_POINTS + 1
    parts = [
        f"(SELECT count(*) FROM (SELECT 1 FROM iot_reading WHERE device_id = %(d)s AND metric_id = %(m)s"
        f" AND ts >= %(s)s AND ts < %(e)s LIMIT {limit}) t)"
    ]
    for level in ("15m", "1h", "1d"):
        parts.append(
            f"(SELECT count(*) FROM (SELECT 1 FROM {ROLLUP_TABLES[level]} WHERE device_id = %(d)s"
            f" AND metric_id = %(m)s AND bucket >= %(s)s AND bucket < %(e)s LIMIT {limit}) t)"
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts),
                       {"d": device_id, "m": metric_id, "s": start, "e": end})
        counts = cursor.fetchone()
    for level, count in zip(("raw", "15m", "1h", "1d"), counts, strict=True):
        if count <= MAX_AUTO_POINTS:
            return level
    return "1mo"


def _too_many(resolution: str, cap: int):
    return ApiError(
        f"More than {cap} points at resolution {resolution}: use a coarser resolution or a "
        f"shorter range.", error="TooManyPoints", details={"resolution": [f"Over {cap} points."]},
    )


def device_series(*, device_id: int, metric: Metric, start: datetime, end: datetime,
                  resolution: str) -> dict:
    """Columns of one device's metric in [start, end) at `resolution` (raw or a rollup).

    raw: {"t", "value"}; rollups: {"t", "value" (mean), "min", "max", "count", "first",
    "last", "delta" (counters: energy etc. in the metric's unit, null otherwise), "gaps"}.
    """
    cap = max_points()
    params = {"d": device_id, "m": metric.id, "s": start, "e": end, "cap": cap + 1}
    if resolution == "raw":
        sql = ("SELECT count(*), array_agg(ts), array_agg(value) FROM ("
               "SELECT ts, value FROM iot_reading WHERE device_id = %(d)s AND metric_id = %(m)s"
               " AND ts >= %(s)s AND ts < %(e)s ORDER BY ts LIMIT %(cap)s) t")
        keys = ("t", "value")
    else:
        table = ROLLUP_TABLES[resolution]
        sql = ("SELECT count(*), array_agg(bucket), array_agg(sum_value / n), array_agg(min_value),"
               " array_agg(max_value), array_agg(n), array_agg(first_value), array_agg(last_value),"
               " array_agg(delta), array_agg(gaps) FROM ("
               f"SELECT * FROM {table} WHERE device_id = %(d)s AND metric_id = %(m)s"
               " AND bucket >= %(s)s AND bucket < %(e)s ORDER BY bucket LIMIT %(cap)s) t")
        keys = ("t", "value", "min", "max", "count", "first", "last", "delta", "gaps")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        count, *columns = cursor.fetchone()
    if count > cap:
        raise _too_many(resolution, cap)
    return {key: (col or []) for key, col in zip(keys, columns, strict=True)}


# --- latest values ------------------------------------------------------------------------

def latest_values(*, device_ids: list[int], metric_codes: list[str] | None = None) -> dict:
    """{device_id: {metric code: {"ts", "value"}}}: the newest stored reading of each metric.

    One index probe per (device, metric) of the catalogue (PK order, newest first)."""
    if not device_ids:
        return {}
    metric_filter = "WHERE m.code = ANY(%(codes)s)" if metric_codes else ""
    sql = f"""
        SELECT d.id, m.code, r.ts, r.value
        FROM unnest(%(ids)s::bigint[]) AS d(id)
        CROSS JOIN (SELECT id, code FROM iot_metric m {metric_filter}) m
        CROSS JOIN LATERAL (
            SELECT ts, value FROM iot_reading
            WHERE device_id = d.id AND metric_id = m.id ORDER BY ts DESC LIMIT 1
        ) r
    """
    out: dict = {device_id: {} for device_id in device_ids}
    with connection.cursor() as cursor:
        cursor.execute(sql, {"ids": list(device_ids), "codes": metric_codes})
        for device_id, code, ts, value in cursor.fetchall():
            out[device_id][code] = {"ts": ts, "value": value}
    return out


# --- energy sums ------------------------------------------------------------------------------

def energy_buckets(*, device_ids: list[int], resolution: str, start: datetime, end: datetime,
                   metric_codes=None, by_local_hour_in: str | None = None
                   ) -> dict[datetime, dict[str, float]]:
    """{bucket: {metric code: kWh summed over the devices}} from the rollups' counter deltas:
    the one energy query of the read side (dashboards, homes, the simulation's measured
    profiles). `by_local_hour_in`: a time zone; the buckets are then grouped by its local
    hour (the 15-minute rollups summed into hours that are whole in that zone)."""
    codes = list(metric_codes or ENERGY_METRICS.values())
    if not device_ids:
        return {}
    table = ROLLUP_TABLES[resolution]
    bucket = "date_trunc('hour', x.bucket, %(tz)s)" if by_local_hour_in else "x.bucket"
    sql = (f"SELECT {bucket}, m.code, sum(x.delta) FROM {table} x"
           " JOIN iot_metric m ON m.id = x.metric_id"
           " WHERE x.device_id = ANY(%(ids)s) AND m.code = ANY(%(codes)s) AND x.bucket >= %(s)s"
           " AND x.bucket < %(e)s GROUP BY 1, 2 ORDER BY 1")
    out: dict = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, {"ids": list(device_ids), "codes": codes, "s": start, "e": end,
                             "tz": by_local_hour_in})
        for b, code, total in cursor.fetchall():
            out.setdefault(b, {})[code] = total
    return out


# --- community ------------------------------------------------------------------------------

def community_series(*, community, resolution: str, start, end) -> dict:
    """Sum of the community's meters' import and export (kWh) per bucket, and the shared
    energy min(export, import) of each bucket (DOMAIN.md, shared energy)."""
    table = ROLLUP_TABLES[resolution]
    sql = (
        "SELECT array_agg(b ORDER BY b), array_agg(imp ORDER BY b), array_agg(exp ORDER BY b) FROM ("
        " SELECT x.bucket AS b,"
        "  sum(x.delta) FILTER (WHERE m.code = 'energy_import_kwh') AS imp,"
        "  sum(x.delta) FILTER (WHERE m.code = 'energy_export_kwh') AS exp"
        f" FROM {table} x JOIN iot_metric m ON m.id = x.metric_id"
        " JOIN iot_device d ON d.id = x.device_id"
        " WHERE d.community_id = %s AND d.kind = 'meter'"
        " AND m.code IN ('energy_import_kwh', 'energy_export_kwh')"
        " AND x.bucket >= %s AND x.bucket < %s GROUP BY 1) s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [community.id, start, end])
        t, imports, exports = cursor.fetchone()
    t, imports, exports = t or [], imports or [], exports or []
    shared = [min(i, e) if i is not None and e is not None else None
              for i, e in zip(imports, exports, strict=True)]
    return {"t": t, "import_kwh": imports, "export_kwh": exports, "shared_kwh": shared}


# --- plant performance (for communities) ------------------------------------------------

def _plant_devices(plant, kinds) -> list[int]:
    return list(Device.objects.filter(plant=plant, kind__in=kinds).values_list("id", flat=True))


def plant_energy_kwh(*, plant, start: datetime, end: datetime) -> float | None:
    """Energy the plant produced in [start, end) (kWh): the differences of its devices'
    `energy_produced_kwh` registers, from the 15-minute rollups (buckets starting in the
    range; a counter reset counts the energy since the reset). None when no device of the
    plant has such telemetry in the range."""
    device_ids = _plant_devices(plant, ("inverter", "meter"))
    if not device_ids:
        return None
    sql = (f"SELECT sum(x.delta) FROM {ROLLUP_TABLES['15m']} x JOIN iot_metric m ON m.id = x.metric_id"
           " WHERE x.device_id = ANY(%s) AND m.code = 'energy_produced_kwh'"
           " AND x.bucket >= %s AND x.bucket < %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [device_ids, start, end])
        total = cursor.fetchone()[0]
    return float(total) if total is not None else None


def plant_irradiation_kwh_m2(*, plant, start: datetime, end: datetime) -> float | None:
    """Plane-of-array irradiation in [start, end) (kWh/m²): for each 15-minute bucket the
    mean `irradiance_wm2` (W/m², averaged over the plant's sensors that reported) x 0.25 h,
    summed, / 1000. Buckets without readings add nothing (no data is not interpolated).
    None when the plant has no irradiance telemetry in the range."""
    device_ids = _plant_devices(plant, ("weather", "sensor", "inverter"))
    if not device_ids:
        return None
    sql = ("SELECT sum(mean_w) * 0.25 / 1000 FROM ("
           f" SELECT x.bucket, avg(x.sum_value / x.n) AS mean_w FROM {ROLLUP_TABLES['15m']} x"
           " JOIN iot_metric m ON m.id = x.metric_id WHERE x.device_id = ANY(%s)"
           " AND m.code = 'irradiance_wm2' AND x.bucket >= %s AND x.bucket < %s GROUP BY 1) b")
    with connection.cursor() as cursor:
        cursor.execute(sql, [device_ids, start, end])
        total = cursor.fetchone()[0]
    return float(total) if total is not None else None


def period_bounds(start: datetime | None, end: datetime | None, default: timedelta) -> tuple:
    """Validated [start, end): defaults to the `default` span ending now."""
    from django.utils import timezone

    end = end or timezone.now()
    start = start or end - default
    if start >= end:
        raise ApiError("start must be before end.", details={"start": ["Must be before end."]})
    return start, end
