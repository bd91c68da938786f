"""The portal's two homes (issue 11): a member's day and month, a referent's community.

Selectors only (STYLE.md): every number comes from the telemetry selectors the dashboard API
uses (iot/read/dashboards.py, iot/read/selectors.py), so the home shows the API's numbers for the same
period. Energy is in kWh from the rollups' counter differences; days and hours are those of
the community's time zone. Shared energy is min(injected, withdrawn) per hour over the
community's meters (DOMAIN.md); a member's share of it is pro rata to their withdrawal in
that hour (the default dynamic allocation key).
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from iot.read import dashboards
from iot.read.selectors import community_series, devices_of, energy_buckets, latest_values
from iot.rollups.tables import ROLLUP_TABLES

SUNNY_HOURS = range(10, 16)  # local 10:00-16:00: "consumption in sunny hours"
QUARTER = timedelta(minutes=15)


def _r(value, digits=3):
    return None if value is None else round(value, digits)


def _local_today(tz: str) -> date:
    return timezone.now().astimezone(ZoneInfo(tz)).date()


def _bounds(first: date, last: date, tz: str) -> tuple[datetime, datetime]:
    """[local midnight of first, local midnight after last) in UTC."""
    return (dashboards.local_midnight(first, tz).astimezone(UTC),
            dashboards.local_midnight(last + timedelta(days=1), tz).astimezone(UTC))


def community_of(user):
    """The member's current community (their first active membership), or None."""
    from communities.models import Membership

    membership = (Membership.objects.current().filter(user=user, status="active")
                  .select_related("community").order_by("joined_at", "id").first())
    return membership.community if membership else None


def community_facts(community) -> dict:
    """Members (current, active) and installed kWp of the community's plants."""
    from plants.models import Plant

    kwp = Plant.objects.filter(community=community).aggregate(s=Sum("capacity_kwp"))["s"]
    members = community.memberships.current().filter(status="active").values("user").distinct().count()
    return {"members": members, "installed_kwp": kwp or Decimal("0")}


def _community_hourly(community, start, end) -> dict:
    """{hour (UTC): {"import", "export", "shared"}} over the community's meters."""
    series = community_series(community=community, resolution="1h", start=start, end=end)
    out = {}
    for t, imp, exp, shared in zip(series["t"], series["import_kwh"], series["export_kwh"],
                                   series["shared_kwh"], strict=True):
        out[t] = {"import": imp or 0.0, "export": exp or 0.0, "shared": shared or 0.0}
    return out


def _community_production(community, start, end) -> float | None:
    sql = (f"SELECT sum(x.delta) FROM {ROLLUP_TABLES['15m']} x"  # noqa: S608 - a module constant
           " JOIN iot_metric m ON m.id = x.metric_id"
           " JOIN iot_device d ON d.id = x.device_id WHERE d.community_id = %s"
           " AND m.code = 'energy_produced_kwh' AND x.bucket >= %s AND x.bucket < %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [community.id, start, end])
        total = cursor.fetchone()[0]
    return float(total) if total is not None else None


def community_energy(community, first: date, last: date) -> dict:
    """The community's shared energy, withdrawal, injection, production and self-sufficiency
    over local days first..last, and the shared energy per local day."""
    tz = community.time_zone
    start, end = _bounds(first, last, tz)
    hourly = _community_hourly(community, start, end)
    per_day: dict[date, float] = {}
    for t, v in hourly.items():
        day = t.astimezone(ZoneInfo(tz)).date()
        per_day[day] = per_day.get(day, 0.0) + v["shared"]
    imported = sum(v["import"] for v in hourly.values())
    exported = sum(v["export"] for v in hourly.values())
    shared = sum(v["shared"] for v in hourly.values())
    produced = _community_production(community, start, end)
    self_consumed = max((produced or 0.0) - exported, 0.0)
    consumption = imported + self_consumed
    return {
        "shared_kwh": _r(shared), "import_kwh": _r(imported), "export_kwh": _r(exported),
        "produced_kwh": _r(produced), "consumption_kwh": _r(consumption),
        "self_sufficiency_pct": (round(100 * (self_consumed + shared) / consumption, 1)
                                 if consumption > 0 else None),
        "shared_per_day": [{"date": d.isoformat(), "shared_kwh": _r(per_day.get(d, 0.0))}
                           for d in _days(first, last)],
        "hourly": hourly,
    }


def _days(first: date, last: date):
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _sunny_share(consumption_by_hour: dict, tz: str) -> float | None:
    """Share (%) of the consumption that fell in the local sunny hours."""
    total = sum(consumption_by_hour.values())
    if total <= 0:
        return None
    sunny = sum(v for t, v in consumption_by_hour.items() if t.astimezone(ZoneInfo(tz)).hour in SUNNY_HOURS)
    return round(100 * sunny / total, 1)


def _consumption_by_hour(buckets: dict) -> dict:
    """{hour: import + produced - export} from `energy_buckets` rows (kWh)."""
    out = {}
    for t, v in buckets.items():
        imp = v.get("energy_import_kwh") or 0.0
        exp = v.get("energy_export_kwh") or 0.0
        prod = v.get("energy_produced_kwh") or 0.0
        out[t] = imp + max(prod - exp, 0.0)
    return out


def day_curve(*, devices, community, day: date, tz: str) -> dict:
    """The day's power curve at 15 minutes (kW = kWh x 4): the member's consumption and
    production, and the community's surplus (injection beyond withdrawal) behind them."""
    start, end = _bounds(day, day, tz)
    own = energy_buckets(device_ids=[d.id for d in devices], resolution="15m", start=start, end=end)
    surplus = {}
    if community is not None:
        series = community_series(community=community, resolution="15m", start=start, end=end)
        for t, imp, exp in zip(series["t"], series["import_kwh"], series["export_kwh"], strict=True):
            surplus[t] = max((exp or 0.0) - (imp or 0.0), 0.0) * 4
    now = timezone.now()
    rows, t = [], start
    while t < end and t <= now:
        v = own.get(t)
        prod = (v or {}).get("energy_produced_kwh")
        cons = _consumption_by_hour({t: v})[t] if v else None
        rows.append({"time": t.astimezone(ZoneInfo(tz)).strftime("%H:%M"),
                     "consumption_kw": _r(cons * 4 if cons is not None else None),
                     "production_kw": _r(prod * 4 if prod is not None else None),
                     "community_surplus_kw": _r(surplus.get(t))})
        t += QUARTER
    return {"date": day.isoformat(), "time_zone": tz, "items": rows}


def live_devices(devices) -> list[dict]:
    """[{id, kind, power_w}] of the devices, with their current (fresh) power: the page's
    starting point, which websocket frames then update device by device."""
    now = timezone.now()
    latest = latest_values(device_ids=[d.id for d in devices], metric_codes=["power_w"])
    return [{"id": d.id, "kind": d.kind, "power_w": dashboards._fresh(latest[d.id].get("power_w"), now)}
            for d in devices]


def member_home(user) -> dict:
    """Everything of the member home: today, this month, my community."""
    devices = devices_of(user=user)
    community = community_of(user)
    tz = community.time_zone if community else dashboards.time_zone_of(devices)
    today = _local_today(tz)
    month_first = today.replace(day=1)
    overview = dashboards.dashboard_overview(devices=devices)  # = GET /api/v1/dashboard
    month = dashboards.energy_daily(devices=devices, first=month_first, last=today)  # = /energy/daily
    year_ago_first = month_first.replace(year=month_first.year - 1)
    try:
        year_ago_last = today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        year_ago_last = today.replace(year=today.year - 1, day=28)
    last_year = dashboards.energy_daily(devices=devices, first=year_ago_first, last=year_ago_last)

    start, end = _bounds(month_first, today, tz)
    own_hourly = energy_buckets(device_ids=[d.id for d in devices], resolution="1h", start=start, end=end)
    own_consumption = _consumption_by_hour(own_hourly)
    ctx = {"devices": devices, "live_devices": live_devices(devices), "community": community,
           "time_zone": tz, "today": today,
           "overview": overview, "month": month, "last_year": last_year,
           "curve": day_curve(devices=devices, community=community, day=today, tz=tz)}

    from_community: dict[date, float] = {}
    my_share = None
    if community is not None:
        cm = community_energy(community, month_first, today)
        ctx["community_month"] = cm
        ctx["community_today"] = community_energy(community, today, today)
        ctx["community_facts"] = community_facts(community)
        my_share = 0.0
        for t, v in cm["hourly"].items():
            mine = (own_hourly.get(t) or {}).get("energy_import_kwh") or 0.0
            if v["import"] > 0 and mine > 0:
                part = v["shared"] * min(mine / v["import"], 1.0)
                my_share += part
                day = t.astimezone(ZoneInfo(tz)).date()
                from_community[day] = from_community.get(day, 0.0) + part
        community_consumption = {t: v["import"] for t, v in cm["hourly"].items()}
        ctx["sunny"] = {"mine": _sunny_share(own_consumption, tz),
                        "community": _sunny_share(community_consumption, tz)}
        ctx["my_share_kwh"] = _r(my_share)
        ctx["my_share_pct"] = (round(100 * my_share / cm["shared_kwh"], 1)
                               if cm["shared_kwh"] else None)
    # the same day of the month a year before: the month against last year's, day by day
    year_ago = {date.fromisoformat(r["date"]).day: _consumption(r) for r in last_year["items"]}
    stacked = []
    for row in month["items"]:
        day = date.fromisoformat(row["date"])
        shared = _r(from_community.get(day, 0.0)) if community is not None else None
        grid = (_r(max((row["import_kwh"] or 0.0) - (shared or 0.0), 0.0))
                if row["import_kwh"] is not None else None)
        stacked.append({"date": row["date"], "self_consumed_kwh": row["self_consumed_kwh"],
                        "community_kwh": shared, "grid_kwh": grid,
                        "last_year_kwh": year_ago.get(day.day)})
    ctx["stacked"] = stacked
    ctx["today_consumption_kwh"] = _consumption(overview["energy_today_kwh"])
    ctx["month_consumption_kwh"] = _consumption(month["totals"])
    ctx["last_year_consumption_kwh"] = _consumption(last_year["totals"])
    return ctx


def _consumption(totals: dict) -> float | None:
    if totals["import_kwh"] is None and totals["self_consumed_kwh"] is None:
        return None
    return _r((totals["import_kwh"] or 0.0) + (totals["self_consumed_kwh"] or 0.0))


# --- referent -------------------------------------------------------------------------------

def managed_communities(user):
    from communities.models import Community

    return Community.objects.managed_by(user).filter(
        pk__in=Community.objects.visible_to(user).values("pk")).order_by("name")


def shared_power_now(devices) -> float | None:
    """min(injection, withdrawal) of the community's meters now (W), fresh readings only."""
    now = timezone.now()
    meters = [d for d in devices if d.kind == "meter"]
    latest = latest_values(device_ids=[d.id for d in meters], metric_codes=["power_w"])
    values = [dashboards._fresh(latest[d.id].get("power_w"), now) for d in meters]
    values = [v for v in values if v is not None]
    if not values:
        return None
    withdrawal = sum(v for v in values if v > 0)
    injection = -sum(v for v in values if v < 0)
    return round(min(withdrawal, injection), 1)


def _floor_quarter(t: datetime) -> datetime:
    return t.replace(minute=t.minute - t.minute % 15, second=0, microsecond=0)


def meter_coverage(meters: list, start: datetime, end: datetime) -> float | None:
    """Lowest share (%) over `meters` of the completed quarter hours in [start, end), counted
    from each meter's registration, that have an import reading (gaps weigh on settlement)."""
    if not meters:
        return None
    end = _floor_quarter(end)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT x.device_id, x.bucket FROM {ROLLUP_TABLES['15m']} x"  # noqa: S608 - a module constant
            " JOIN iot_metric mt ON mt.id = x.metric_id WHERE x.device_id = ANY(%s)"
            " AND mt.code = 'energy_import_kwh' AND x.bucket >= %s AND x.bucket < %s",
            [[d.id for d in meters], start, end])
        buckets: dict[int, list] = {}
        for device_id, bucket in cursor.fetchall():
            buckets.setdefault(device_id, []).append(bucket)
    worst = 100.0
    for meter in meters:
        since = max(start, _floor_quarter(meter.created_at))
        expected = int((end - since) / QUARTER)
        if expected <= 0:
            continue
        got = sum(1 for b in buckets.get(meter.id, []) if b >= since)
        worst = min(worst, round(100 * min(got / expected, 1.0), 1))
    return worst


def member_table(community, first: date, last: date, hourly: dict) -> list[dict]:
    """Per current member: withdrawal, injection and shared energy (pro rata per hour) over
    first..last, and the coverage of their meters' data (`meter_coverage`)."""
    from iot.models import Device

    tz = community.time_zone
    start, end = _bounds(first, last, tz)
    end = min(end, timezone.now())
    memberships = (community.memberships.current().filter(status="active").select_related("user")
                   .order_by("user__full_name", "user__email"))
    rows = []
    for m in memberships:
        meters = list(Device.objects.filter(community=community, kind="meter")
                      .filter(dashboards_own_q(m.user)).distinct())
        buckets = energy_buckets(device_ids=[d.id for d in meters], resolution="1h", start=start, end=end)
        imported = sum((v.get("energy_import_kwh") or 0.0) for v in buckets.values())
        exported = sum((v.get("energy_export_kwh") or 0.0) for v in buckets.values())
        shared = 0.0
        for t, v in hourly.items():
            mine = (buckets.get(t) or {}).get("energy_import_kwh") or 0.0
            if v["import"] > 0 and mine > 0:
                shared += v["shared"] * min(mine / v["import"], 1.0)
        coverage = meter_coverage(meters, start, end)
        rows.append({"membership": m, "user": m.user, "meters": len(meters),
                     "import_kwh": _r(imported), "export_kwh": _r(exported), "shared_kwh": _r(shared),
                     "coverage_pct": coverage, "has_gaps": coverage is None or coverage < 100.0})
    return rows


def dashboards_own_q(user):
    from iot.read.selectors import own_devices_q

    return own_devices_q(user)


def incentive_so_far(community, today: date) -> dict | None:
    """Italian CER/AUC: the month so far (its first day to now) as the settlement computes
    it: `settlement_inputs` and the regime's own rules over the month's intervals, the
    hours still to come and those without data counting for nothing, the zonal price the
    parameter set's reference where the day-ahead price is not known. {"tip_eur",
    "valorisation_eur", "total_eur" (Decimal, the lines' cents), "rule", "month"}; None
    for regimes without an incentive. Cached per community for the quarter hour."""
    from django.core.cache import cache

    from energy_rules.it_cacer import INCENTIVE_REGIMES
    from settlement.regimes import REGIMES
    from settlement.selectors import settlement_inputs

    regime = REGIMES.get(community.regime)
    if community.regime not in INCENTIVE_REGIMES or regime is None:
        return None
    month = today.replace(day=1)
    key = f"home:incentive:{community.pk}:{month}:{_floor_quarter(timezone.now()):%Y%m%d%H%M}"
    found = cache.get(key)
    if found is not None:
        return found
    result = regime(settlement_inputs(community=community, month=month).inputs)
    tip = sum((line.amount for line in result.lines if line.kind == "tip"), Decimal(0))
    valorisation = sum((line.amount for line in result.lines if line.kind == "valorisation"), Decimal(0))
    rules = sorted({line.rule for line in result.lines if line.kind in ("tip", "valorisation")})
    out = {"tip_eur": tip, "valorisation_eur": valorisation, "total_eur": tip + valorisation,
           "rules": rules, "month": month}
    cache.set(key, out, timeout=15 * 60)
    return out


def settlement_runs_awaiting(community) -> int:
    """The community's runs a referent still has to approve or post."""
    from settlement.models import RunStatus, SettlementRun

    return SettlementRun.objects.filter(period__community=community,
                                        status__in=(RunStatus.DRAFT, RunStatus.APPROVED)).count()


def referent_home(user, community) -> dict:
    from communities.models import Membership
    from iot.models import Alert, Device

    tz = community.time_zone
    today = _local_today(tz)
    month_first = today.replace(day=1)
    devices = devices_of(user=user, community_id=community.id)
    overview = dashboards.dashboard_overview(devices=devices)  # = /api/v1/dashboard?community=
    month = community_energy(community, month_first, today)
    offline = [d for d in devices if d.status != "online"]
    alerts = list(Alert.objects.open().filter(device__community=community).select_related("device")
                  .order_by("-opened_at")[:20])
    members = member_table(community, month_first, today, month["hourly"])
    pending = list(Membership.objects.filter(community=community, status="pending").select_related("user"))
    runs_awaiting = settlement_runs_awaiting(community)
    return {
        "community": community, "time_zone": tz, "today": today, "overview": overview, "devices": devices,
        "live_devices": live_devices(devices),
        "shared_power_w": shared_power_now(devices),
        "community_today": community_energy(community, today, today),
        "month": month, "facts": community_facts(community),
        "offline_devices": offline, "open_alerts": alerts, "members": members,
        "members_with_gaps": [m for m in members if m["has_gaps"]],
        "incentive": incentive_so_far(community, today),
        "pending_memberships": pending,
        "runs_awaiting": runs_awaiting,
        "pending_total": len(pending) + runs_awaiting,
        "device_count": Device.objects.filter(community=community).count(),
    }
