# ruff: noqa: S608  - SQL is assembled from module constants; values are bound.
"""Reads of the settlement: a period's inputs from the database, the runs a user may see.

`settlement_inputs` gathers everything a run depends on (meter data, official curves, gap
decisions, plants, prices, the statute and the regime's parameter set) into a pure
`SettlementInputs` plus the data-quality report; nothing after it touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.db.models import Q

from communities.models import Community, Configuration, MeteringPoint, RegimeParameters
from energy_rules.figures import default_params
from iot.rollups.arrays import bucket_columns, fetch_binary, float_values
from iot.rollups.tables import rollup_table
from plants.models import Plant, PlantShare
from pricing.selectors import zonal_prices
from settlement.models import GapDecision, GapDecisionKind, OfficialReading, SettlementPeriod, SettlementRun
from settlement.regimes.base import (
    ParamSegment,
    PlantInfo,
    PointInfo,
    SettlementInputs,
    Statute,
    StatuteSegment,
)
from settlement.regions import region_of

ITALIAN = ("it_cer", "it_auc")


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def period_bounds(community: Community, month: date) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the community's local month."""
    tz = ZoneInfo(community.time_zone)
    start = datetime(month.year, month.month, 1, tzinfo=tz).astimezone(UTC)
    nxt = next_month(month)
    end = datetime(nxt.year, nxt.month, 1, tzinfo=tz).astimezone(UTC)
    return start, end


def interval_minutes(regime: str, params: dict) -> int:
    return int(params.get("interval_minutes", 60 if regime in ITALIAN else 15))


@dataclass
class Gathered:
    inputs: SettlementInputs
    data_quality: dict
    point_ids: list[int]
    plant_ids: list[int]
    configuration_id: int | None = None
    regime_parameters_id: int | None = None
    blocking: list[str] = field(default_factory=list)


def _points(community: Community, start: date, end: date) -> list[MeteringPoint]:
    return list(
        MeteringPoint.objects.filter(membership__community=community, membership__joined_at__lt=end)
        .filter(Q(membership__left_at__isnull=True) | Q(membership__left_at__gte=start))
        .select_related("membership")
        .order_by("id")
    )


def _meter_arrays(
    point_ids: list[int], start: datetime, n: int, minutes: int
) -> tuple[np.ndarray, np.ndarray]:
    """(withdrawal, injection) from the rollups of the points' meters: import and export
    registers differenced per bucket; NaN where no bucket exists. One query with one row
    per meter and register, its arrays read in binary by numpy (shared/PITFALLS.md: no ORM
    rows, no Python object per value on the hot path).

    Each (meter, register) is one aggregate over a range of the rollup's primary key
    (device, metric, bucket), so PostgreSQL neither sorts nor hashes the month's rows (a
    GROUP BY over the join sorted 15 million rows on disk at 10,000 points), and the
    buckets travel as raw timestamps: numpy, not SQL numeric arithmetic, turns them into
    columns."""
    table = rollup_table(minutes=minutes)
    shape = (len(point_ids), n)
    out = np.full((2, *shape), np.nan)
    if not point_ids:
        return out[0], out[1]
    sql = (
        "SELECT (p.ord - 1)::int4, k.kind, a.buckets, a.kwh"
        " FROM unnest(%s::bigint[]) WITH ORDINALITY AS p(id, ord)"
        " JOIN iot_device d ON d.metering_point_id = p.id AND d.kind = 'meter'"
        " CROSS JOIN (SELECT id, (code = 'energy_export_kwh')::int4 FROM iot_metric"
        "             WHERE code IN ('energy_import_kwh', 'energy_export_kwh')) AS k(metric_id, kind)"
        " CROSS JOIN LATERAL (SELECT array_agg(x.bucket) AS buckets, array_agg(x.delta) AS kwh"
        f"   FROM {table} x WHERE x.device_id = d.id AND x.metric_id = k.metric_id"
        "    AND x.delta IS NOT NULL AND x.bucket >= %s AND x.bucket < %s) AS a"
        " WHERE a.buckets IS NOT NULL"
    )
    end = datetime.fromtimestamp(start.timestamp() + n * minutes * 60, tz=UTC)
    for row, kind, buckets, kwh in fetch_binary(sql, [point_ids, start, end]):
        cols = bucket_columns(buckets, start=start, minutes=minutes)
        target = out[kind, row]
        # several meters on one point add up
        target[cols] = np.where(np.isnan(target[cols]), 0.0, target[cols]) + float_values(kwh)
    return out[0], out[1]


def _official_arrays(point_ids, start: datetime, n: int, minutes: int):
    wd = np.full((len(point_ids), n), np.nan)
    inj = np.full((len(point_ids), n), np.nan)
    row_of = {pid: i for i, pid in enumerate(point_ids)}
    end = datetime.fromtimestamp(start.timestamp() + n * minutes * 60, tz=UTC)
    readings = OfficialReading.objects.filter(
        metering_point_id__in=point_ids, interval_start__gte=start, interval_start__lt=end
    ).values_list("metering_point_id", "interval_start", "withdrawal_kwh", "injection_kwh")
    for point_id, at, w, i in readings.iterator(chunk_size=20_000):
        k = int((at - start).total_seconds() // (minutes * 60))
        if w is not None:
            wd[row_of[point_id], k] = w
        if i is not None:
            inj[row_of[point_id], k] = i
    return wd, inj


def _estimate(row: np.ndarray, method: str) -> np.ndarray:
    """Fill NaN of one point's series. `linear`: interpolation between known neighbours
    (flat at the ends); `zero`: nothing was exchanged. All-missing rows become zeros."""
    known = ~np.isnan(row)
    if not known.any() or method == "zero":
        return np.nan_to_num(row, nan=0.0)
    x = np.arange(row.size)
    return np.interp(x, x[known], row[known])


ESTIMATE_METHODS = ("linear", "zero")


def _expects(point: MeteringPoint, has_plant: bool) -> tuple[bool, bool]:
    return point.direction in ("withdrawal", "both"), point.direction in ("injection", "both") or has_plant


def settlement_inputs(*, community: Community, month: date, closes_year: bool | None = None) -> Gathered:
    """Everything the run of `community`'s `month` depends on (see the module docstring)."""
    start_local, end_local = month, next_month(month)
    start, end = period_bounds(community, month)
    in_force = list(
        Configuration.objects.filter(community=community, status="active", valid_from__lt=end_local)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=start_local))
        .select_related("regime_parameters")
        .order_by("-valid_from")
    )
    config = in_force[0] if in_force else None
    blocking: list[str] = []
    by_day = _versions_by_day(community, in_force, start_local, end_local)
    # the arrays' step is the interval length of the version in force on the 1st; a version
    # with another length within the month blocks approval (`_parameter_segments`)
    minutes = interval_minutes(community.regime, _params_of(community.regime, by_day[0][0]))
    n = int((end - start).total_seconds() // (minutes * 60))
    param_segments = _parameter_segments(community, by_day, start, minutes, n, blocking)
    rp = by_day[-1][0]  # the version in force at the month's close
    starts = np.datetime64(start.replace(tzinfo=None), "s") + np.arange(n) * np.timedelta64(minutes * 60, "s")

    points = _points(community, start_local, end_local)
    point_ids = [p.id for p in points]
    plants = list(
        Plant.objects.filter(metering_point_id__in=point_ids)
        .select_related("metering_point__membership")
        .order_by("id")
    )
    shares: dict[int, list] = {}
    for s in PlantShare.objects.filter(plant__in=plants).order_by("plant_id", "user_id"):
        shares.setdefault(s.plant_id, []).append((s.user_id, float(s.pct)))
    with_plant = {p.metering_point_id for p in plants}

    own_wd, own_inj = _meter_arrays(point_ids, start, n, minutes)
    off_wd, off_inj = _official_arrays(point_ids, start, n, minutes)
    wd = np.where(np.isnan(off_wd), own_wd, off_wd)
    inj = np.where(np.isnan(off_inj), own_inj, off_inj)

    tol_abs = float(settings.SETTLEMENT_CURVE_TOLERANCE_KWH)
    tol_rel = float(settings.SETTLEMENT_CURVE_TOLERANCE_PCT) / 100.0

    def differ(own, off):
        both = ~np.isnan(own) & ~np.isnan(off)
        gap = np.abs(np.nan_to_num(own) - np.nan_to_num(off))
        return (both & (gap > np.maximum(tol_abs, tol_rel * np.abs(np.nan_to_num(off))))).sum(axis=1)

    diff_wd, diff_inj = differ(own_wd, off_wd), differ(own_inj, off_inj)
    official_n = (~np.isnan(off_wd) | ~np.isnan(off_inj)).sum(axis=1)
    period = SettlementPeriod.objects.filter(community=community, month=month).first()
    decisions = {
        d.metering_point_id: d for d in (GapDecision.objects.filter(period=period) if period else [])
    }

    report = []
    for i, point in enumerate(points):
        expect_wd, expect_inj = _expects(point, point.id in with_plant)
        miss_wd = int(np.isnan(wd[i]).sum()) if expect_wd else 0
        miss_inj = int(np.isnan(inj[i]).sum()) if expect_inj else 0
        entry = {
            "metering_point": point.id,
            "code": point.code,
            "missing_withdrawal": miss_wd,
            "missing_injection": miss_inj,
            "official_intervals": int(official_n[i]),
            "differing_withdrawal": int(diff_wd[i]),
            "differing_injection": int(diff_inj[i]),
        }
        decision = decisions.get(point.id)
        if miss_wd or miss_inj:
            entry["decision"] = decision.decision if decision else None
            if decision and decision.decision == GapDecisionKind.ESTIMATE:
                entry["method"] = decision.method
                wd[i] = _estimate(wd[i], decision.method) if expect_wd else wd[i]
                inj[i] = _estimate(inj[i], decision.method) if expect_inj else inj[i]
            elif decision and decision.decision == GapDecisionKind.EXCLUDE:
                # the missing intervals count as nothing exchanged
                wd[i] = _estimate(wd[i], "zero") if expect_wd else wd[i]
                inj[i] = _estimate(inj[i], "zero") if expect_inj else inj[i]
            else:
                blocking.append(f"{point.code}: {miss_wd + miss_inj} missing intervals without a decision")
        if miss_wd or miss_inj or entry["differing_withdrawal"] or entry["differing_injection"]:
            report.append(entry)

    prices = zonal_prices(market_zone=community.market_zone, start=start, end=end, resolution_minutes=minutes)
    pz = np.array([float(p.price_eur_per_mwh) if p.price_eur_per_mwh is not None else np.nan for p in prices])
    prices_missing = int(np.isnan(pz).sum())
    if prices_missing and community.regime in ITALIAN:
        blocking.append(f"{prices_missing} hours without a zonal price ({community.market_zone})")

    point_row = {pid: i for i, pid in enumerate(point_ids)}
    plant_infos, no_region = [], []
    for plant in plants:
        region = region_of(plant.location) if community.regime in ITALIAN else None
        if community.regime in ITALIAN and region is None:
            no_region.append(plant.id)
            blocking.append(f"plant {plant.id} ({plant.name}): location outside every Italian region")
        plant_infos.append(
            PlantInfo(
                id=plant.id,
                point_index=point_row[plant.metering_point_id],
                membership_id=plant.metering_point.membership_id,
                power_kw=plant.peak_kw,
                commissioned_on=plant.commissioned_on,
                region=region,
                grant_pct=float(plant.grant_pct),
                technology="pv" if plant.technology.startswith("pv") else plant.technology,
                shares=tuple(shares.get(plant.id, ())),
            )
        )

    statute = _statute(config)
    segments = []
    if config is None:
        blocking.append("no active configuration (statute) in force in this month")
    elif len(in_force) > 1 or config.valid_from > start_local or (config.valid_to or end_local) < end_local:
        segments = _statute_segments(community, in_force, start_local, end_local, start, minutes, n, blocking)
    closes = (month.month == 12) if closes_year is None else closes_year
    inputs = SettlementInputs(
        regime=community.regime,
        interval_starts=starts,
        interval_minutes=minutes,
        points=[
            PointInfo(
                id=p.id,
                membership_id=p.membership_id,
                user_id=p.membership.user_id,
                member_type=p.membership.member_type,
                direction=p.direction,
                code=p.code,
                primary_substation=p.primary_substation,
                market_zone=p.market_zone,
                grant_exempt=p.grant_exempt,
                is_business=p.membership.is_business,
            )
            for p in points
        ],
        withdrawal_kwh=wd,
        injection_kwh=inj,
        plants=plant_infos,
        zonal_eur_per_mwh=pz,
        statute=statute,
        params=param_segments[-1].params,
        params_version=param_segments[-1].version,
        community_substation=community.primary_substation,
        community_market_zone=community.market_zone,
        closes_year=closes,
        year_to_date=year_to_date(community=community, month=month) if closes else {},
        statute_segments=segments,
        # one version over the whole month is the common case: no segments, so earlier runs
        # keep their hash
        param_segments=param_segments if len(param_segments) > 1 else [],
    )
    if community.regime in ("fr_acc", "at_eeg"):
        # France's imported keys and supply prices, Austria's factors and network levels (h-alloc)
        from allocations.settlement import regime_extra

        inputs.extra = regime_extra(community=community, points=inputs.points, interval_starts=starts)
    data_quality = {
        "points": report,
        "prices_missing": prices_missing,
        "plants_without_region": no_region,
        "blocking": blocking,
        "intervals": n,
        "interval_minutes": minutes,
    }
    return Gathered(
        inputs,
        data_quality,
        point_ids,
        [p.id for p in plants],
        config.id if config else None,
        rp.id if rp else None,
        blocking,
    )


def _statute(config: Configuration | None) -> Statute:
    return Statute(
        producers_pct=config.producers_pct if config else Decimal(55),
        consumers_pct=config.consumers_pct if config else Decimal(40),
        fund_pct=config.fund_pct if config else Decimal(5),
        allocation_key=config.allocation_key if config else "",
        static_shares=dict(config.static_shares) if config else {},
    )


def _statute_segments(community, in_force, start_local: date, end_local: date, start: datetime,
                      minutes: int, n: int, blocking: list) -> list[StatuteSegment]:
    """Issue 10: each configuration version applies to the intervals of its validity, from
    its first local day's first interval (the community's time zone) to the next version's.
    Days no active configuration covers block approval (nothing says how to split them)."""
    tz = ZoneInfo(community.time_zone)

    def index(day: date) -> int:
        at = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
        return min(max(int((at - start).total_seconds() // (minutes * 60)), 0), n)

    segments, covered = [], start_local
    for config in sorted(in_force, key=lambda c: c.valid_from):
        frm, to = max(config.valid_from, start_local), min(config.valid_to or end_local, end_local)
        if frm > covered:
            blocking.append(f"no active configuration (statute) in force from {covered:%Y-%m-%d} "
                            f"to {frm:%Y-%m-%d} (exclusive)")
        segments.append(StatuteSegment(_statute(config), index(frm), index(to), config.id,
                                       config.valid_from, config.valid_to))
        covered = max(covered, to)
    if covered < end_local:
        blocking.append(f"no active configuration (statute) in force from {covered:%Y-%m-%d} "
                        "to the month's end")
    return [s for s in segments if s.stop > s.start]


def _params_of(regime: str, rp: RegimeParameters | None) -> dict:
    """A version's figures over the regime's newest defaults (an older row may lack one)."""
    return {**default_params(regime), **(rp.params if rp else {})}


def _versions_by_day(community, in_force, start_local: date, end_local: date) -> list[list]:
    """[[version or None, first day, day after the last], ...] covering the month: each local
    day takes the version its configuration names, else the regime's version in force that
    day (a version's `valid_from` is a date: it applies from that local midnight on);
    consecutive days with the same version make one entry."""
    rows = list(
        RegimeParameters.objects.filter(regime=community.regime, valid_from__lt=end_local)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=start_local))
        .order_by("-valid_from", "-id")
    )

    def in_force_on(items, day):
        return next((x for x in items if x.valid_from <= day and (x.valid_to or date.max) > day), None)

    out: list[list] = []
    day = start_local
    while day < end_local:
        config = in_force_on(in_force, day)
        rp = config.regime_parameters if config and config.regime_parameters_id else in_force_on(rows, day)
        if out and (out[-1][0] and out[-1][0].id) == (rp and rp.id):
            out[-1][2] = day + timedelta(days=1)
        else:
            out.append([rp, day, day + timedelta(days=1)])
        day += timedelta(days=1)
    return out


def _parameter_segments(community, by_day: list[list], start: datetime, minutes: int, n: int,
                        blocking: list) -> list[ParamSegment]:
    """Issue 10: each parameter version applies to the intervals of its validity (TIP bands,
    valorisation figures, grid charges per interval). What still blocks approval: a version
    with another interval length than the month's first (the energy arrays have one step), or
    one starting at a local midnight that is not an interval boundary (a zone whose offset
    moves by less than an interval)."""
    tz = ZoneInfo(community.time_zone)
    step = minutes * 60
    segments = []
    for rp, frm, to in by_day:
        at = datetime(frm.year, frm.month, frm.day, tzinfo=tz).astimezone(UTC)
        offset = (at - start).total_seconds()
        version = rp.version if rp else "default"
        params = _params_of(community.regime, rp)
        own = interval_minutes(community.regime, params)
        if own != minutes:
            blocking.append(
                f"the regime parameters change the interval length within this month: version {version} "
                f"(from {frm:%Y-%m-%d}) settles every {own} minutes, the month's first version every "
                f"{minutes}: a new interval length must take effect on a 1st"
            )
        elif offset % step:
            blocking.append(
                f"the regime parameter version {version} starts on {frm:%Y-%m-%d} at a local midnight "
                f"that is not an interval boundary ({minutes}-minute intervals)"
            )
        first = min(max(int(offset // step), 0), n)
        segments.append(ParamSegment(version, params, first, n, frm, to))
    # each segment ends where the next starts; the last at the month's end
    out = [
        ParamSegment(s.version, s.params, s.start, nxt.start if nxt else n, s.valid_from, s.valid_to)
        for s, nxt in zip(segments, [*segments[1:], None], strict=True)
    ]
    return [s for s in out if s.stop > s.start] or out[-1:]


def year_to_date(*, community: Community, month: date) -> dict:
    """The year's earlier months as their last posted runs computed them (each run keeps the
    full figures in `totals`, corrections included): per plant and per consumer."""
    plants: dict[str, dict] = {}
    consumers: dict[str, float] = {}
    runs = (
        SettlementRun.objects.filter(
            period__community=community,
            period__month__year=month.year,
            period__month__lt=month,
            status="posted",
        )
        .order_by("period__month", "-number")
        .distinct("period__month")
    )
    for run in runs:
        for pid, fig in (run.totals.get("plants") or {}).items():
            acc = plants.setdefault(pid, {"incentivised_kwh": 0.0, "injected_kwh": 0.0, "tip_eur": 0.0})
            for key in acc:
                acc[key] += float(fig.get(key, 0.0))
        for mid, kwh in (run.totals.get("consumers") or {}).items():
            consumers[mid] = consumers.get(mid, 0.0) + float(kwh)
    return {"plants": plants, "consumers": consumers}


def settlement_list(*, user):
    return (
        SettlementRun.objects.visible_to(user)
        .select_related("period__community")
        .order_by("-period__month", "period__community_id", "-number")
    )


def stale_true_ups(runs) -> set[int]:
    """The posted yearly true-ups among `runs` that a later month's run made stale: a run of
    the same community and year (a correction, or a month posted late) posted after the
    year's last posted true-up changed the advances the true-up subtracted, so the true-up
    must be drafted again (it then posts the difference). Computed, never stored: two
    queries whatever the number of runs."""
    from django.db.models import Max

    from settlement.models import RunKind, RunStatus

    years = {
        (r.period.community_id, r.period.month.year)
        for r in runs
        if r.kind == RunKind.TRUE_UP and r.status == RunStatus.POSTED
    }
    if not years:
        return set()
    where = Q()
    for community_id, year in years:
        where |= Q(period__community_id=community_id, period__month__year=year)
    posted = SettlementRun.objects.filter(where, status=RunStatus.POSTED)
    last_true_up, last_month = {}, {}
    for row in (
        posted.values("period__community_id", "period__month__year", "kind")
        .annotate(at=Max("posted_at"))
        .order_by()
    ):
        key = (row["period__community_id"], row["period__month__year"])
        target = last_true_up if row["kind"] == RunKind.TRUE_UP else last_month
        target[key] = max(filter(None, (target.get(key), row["at"])), default=None)
    stale = {
        key for key in years
        if last_month.get(key) and last_true_up.get(key) and last_month[key] > last_true_up[key]
    }
    return {
        r.pk
        for r in runs
        if r.kind == RunKind.TRUE_UP and r.status == RunStatus.POSTED
        and (r.period.community_id, r.period.month.year) in stale
    }
