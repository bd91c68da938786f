"""Reads of the allocations app: the EDA difference report, the regime data-quality items,
and the imported French shares as arrays for the settlement."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
from django.db.models import Q
from django.utils.translation import gettext as _

from allocations.models import AllocationShare, EdaValue
from communities.eligibility import regime_problems
from communities.models import Community, Configuration, ConfigurationStatus, Direction
from communities.selectors import participation_factor_matrix
from energy_rules import at_eeg

MAX_LISTED = 1000


def community_data_quality(*, community: Community) -> list[dict]:
    """The community's regime items (France: perimeter, power cap), machine-readable."""
    return regime_problems(community)


def configuration_on(community: Community, day) -> Configuration | None:
    return (Configuration.objects.filter(community=community, status=ConfigurationStatus.ACTIVE,
                                         valid_from__lte=day)
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=day)).order_by("-valid_from").first())


def _meter_share(static_shares: dict, mps: list) -> np.ndarray:
    """The static key's share per consumer meter: the membership's share, split evenly over
    that membership's consumer meters."""
    per_membership = defaultdict(int)
    for mp in mps:
        per_membership[mp.membership_id] += 1
    return np.array([float(static_shares.get(str(mp.membership_id), 0)) / per_membership[mp.membership_id]
                     for mp in mps])


def eda_difference_report(*, community: Community, start: datetime, end: datetime,
                          tolerance_kwh: Decimal = Decimal("0.001")) -> dict:
    """Where the platform's own allocation differs from the grid operator's by more than
    `tolerance_kwh`, per meter and quarter hour in [start, end).

    The platform recomputes each quarter hour from the operator's measured energy (G.01)
    with the configuration in force that local day (static or dynamic key) and each
    membership's participation factor (`energy_rules.at_eeg`), and compares a consumer's
    allocation with G.03 (self-coverage) and a producer's surplus with P.01."""
    rows = list(EdaValue.objects.filter(community=community, interval_start__gte=start,
                                        interval_start__lt=end)
                .select_related("metering_point__membership").order_by("interval_start"))
    report = {"community": community.pk, "from": start.isoformat(), "to": end.isoformat(),
              "tolerance_kwh": str(tolerance_kwh), "intervals": 0, "compared": 0, "differing": 0,
              "differences": [], "meters": [], "warnings": []}
    if not rows:
        return report
    times = sorted({r.interval_start for r in rows})
    t_index = {t: i for i, t in enumerate(times)}
    mps = {r.metering_point_id: r.metering_point for r in rows}
    by_code = sorted(mps.values(), key=lambda m: m.code)
    consumers = [mp for mp in by_code if mp.direction != Direction.INJECTION]
    producers = [mp for mp in by_code if mp.direction == Direction.INJECTION]
    c_index = {mp.pk: i for i, mp in enumerate(consumers)}
    p_index = {mp.pk: i for i, mp in enumerate(producers)}
    n = len(times)
    cons, prod = np.zeros((n, len(consumers))), np.zeros((n, len(producers)))
    op_alloc, op_surplus = np.full(cons.shape, np.nan), np.full(prod.shape, np.nan)
    for r in rows:
        t = t_index[r.interval_start]
        if r.metering_point_id in c_index:
            c = c_index[r.metering_point_id]
            cons[t, c] = float(r.measured_kwh)
            if r.self_coverage_kwh is not None:
                op_alloc[t, c] = float(r.self_coverage_kwh)
        else:
            p = p_index[r.metering_point_id]
            prod[t, p] = float(r.measured_kwh)
            if r.surplus_kwh is not None:
                op_surplus[t, p] = float(r.surplus_kwh)
    ours_alloc, ours_surplus = np.zeros(cons.shape), np.zeros(prod.shape)
    tz = ZoneInfo(community.time_zone)
    by_day = defaultdict(list)
    for i, t in enumerate(times):
        by_day[t.astimezone(tz).date()].append(i)
    # each quarter hour with the factor version in force at that quarter hour (EAG §79)
    cf, pf = (participation_factor_matrix(membership_ids=[mp.membership_id for mp in meters],
                                          interval_starts=times)
              for meters in (consumers, producers))
    for day, idx in by_day.items():
        config = configuration_on(community, day)
        key = at_eeg.CONFIGURATION_KEYS.get(config.allocation_key if config else "pro_rata")
        if key is None:
            report["warnings"].append(_("%(day)s: the key %(key)s is not an Austrian key; dynamic used.") % {
                "day": day, "key": config.allocation_key})
            key = "dynamic"
        shares = _meter_share(config.static_shares, consumers) if key == "static" else None
        res = at_eeg.allocate(key, prod[idx], cons[idx], shares=shares, consumer_factors=cf[:, idx],
                              producer_factors=pf[:, idx])
        ours_alloc[idx], ours_surplus[idx] = res.allocated_kwh, res.surplus_by_producer_kwh
    tol = float(tolerance_kwh)
    listed = []
    for quantity, meters, ours, theirs in (("G.03", consumers, ours_alloc, op_alloc),
                                           ("P.01", producers, ours_surplus, op_surplus)):
        known = ~np.isnan(theirs)
        diff = np.where(known, ours - np.nan_to_num(theirs), 0.0)
        report["compared"] += int(known.sum())
        bad = np.argwhere(np.abs(diff) > tol)
        report["differing"] += len(bad)
        for t, m in bad[:MAX_LISTED]:
            listed.append({"metering_point": meters[m].code, "interval_start": times[t].isoformat(),
                           "quantity": quantity, "operator_kwh": round(float(theirs[t, m]), 6),
                           "platform_kwh": round(float(ours[t, m]), 6),
                           "difference_kwh": round(float(diff[t, m]), 6)})
        for m, mp in enumerate(meters):
            report["meters"].append({
                "metering_point": mp.code, "quantity": quantity,
                "operator_kwh": round(float(np.nansum(theirs[:, m])), 6),
                "platform_kwh": round(float(ours[known[:, m], m].sum()), 6),
                "missing_operator_values": int((~known[:, m]).sum()),
                "differing_intervals": int((np.abs(diff[:, m]) > tol).sum()),
            })
    listed.sort(key=lambda d: (d["interval_start"], d["metering_point"]))
    report["differences"] = listed[:MAX_LISTED]
    report["intervals"] = n
    return report


def french_shares(*, community: Community, interval_starts: list[datetime], consumer_ids: list[int],
                  producer_ids: list[int]) -> tuple[np.ndarray, np.ndarray, int]:
    """The imported French shares as arrays: simple (T, C) and full (T, P, C), plus how many
    intervals have no imported value at all (they allocate nothing under those keys)."""
    t_index = {t: i for i, t in enumerate(interval_starts)}
    c_index = {pk: i for i, pk in enumerate(consumer_ids)}
    p_index = {pk: i for i, pk in enumerate(producer_ids)}
    simple = np.zeros((len(interval_starts), len(consumer_ids)))
    full = np.zeros((len(interval_starts), len(producer_ids), len(consumer_ids)))
    covered = set()
    rows = AllocationShare.objects.filter(
        community=community, interval_start__gte=min(interval_starts),
        interval_start__lte=max(interval_starts),
    ).values_list("interval_start", "producer_id", "consumer_id", "share")
    for start, producer, consumer, share in rows:
        t, c = t_index.get(start), c_index.get(consumer)
        if t is None or c is None:
            continue
        covered.add(t)
        if producer is None:
            simple[t, c] = float(share)
        elif producer in p_index:
            full[t, p_index[producer], c] = float(share)
    return simple, full, len(interval_starts) - len(covered)
