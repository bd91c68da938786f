"""The database half of France's and Austria's settlement inputs: what their regime modules
(`settlement/regimes/fr_acc.py`, `at_eeg.py`) read from `SettlementInputs.extra`.

The run's input builder (`settlement.selectors.settlement_inputs`) calls `regime_extra`
once per run with the points (in the order of the energy arrays) and the interval starts;
the regime functions stay pure. Values are plain lists (the run hashes its inputs as JSON).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np

from allocations.selectors import french_shares
from communities.models import Community, Membership, Regime
from communities.selectors import participation_factor_matrix


def regime_extra(*, community: Community, points: list, interval_starts,
                 with_supply_prices: bool = True) -> dict:
    """`points`: objects with `.id`, `.membership_id` and `.direction` (PointInfo or
    MeteringPoint), in the rows' order; `interval_starts`: UTC datetimes or datetime64."""
    starts = [_aware(s) for s in interval_starts]
    if community.regime == Regime.FR_ACC:
        ids = [p.id for p in points]
        producers = [i for i, p in enumerate(points) if p.direction != "withdrawal"]
        extra = {"fr_producer_points": producers, "fr_intervals_without_shares": 0}
        if starts:
            simple, full, uncovered = french_shares(
                community=community, interval_starts=starts, consumer_ids=ids,
                producer_ids=[ids[i] for i in producers])
            if simple.any():
                extra["fr_simple_shares"] = simple.T.tolist()
            if full.any():
                extra["fr_coefficients"] = full.tolist()
            extra["fr_intervals_without_shares"] = uncovered
        if with_supply_prices and starts:
            prices, missing = supply_prices(community=community, points=points, starts=starts)
            if prices is not None:
                extra["supply_eur_per_kwh"] = prices
                extra["supply_price_missing"] = missing
        return extra
    if community.regime == Regime.AT_EEG:
        memberships = Membership.objects.in_bulk({p.membership_id for p in points})
        factors = participation_factor_matrix(membership_ids=[p.membership_id for p in points],
                                              interval_starts=starts)
        if not starts:
            factors = [float(memberships[p.membership_id].participation_factor_pct) / 100 for p in points]
        elif (factors == factors[:, :1]).all():
            # (N,) while no factor changes within the period: the common case, cheap to hash
            factors = factors[:, 0].tolist()
        # else (N, T): each quarter hour takes the version in force (EAG §79)
        return {
            "participation_factors": factors,
            "network_levels": [memberships[p.membership_id].network_level for p in points],
            "eeg_scope": community.eeg_scope or "local",
        }
    return {}


def supply_prices(*, community: Community, points: list, starts: list[datetime]) -> tuple[list | None, int]:
    """(N, T) each withdrawing point's supply price (EUR/kWh) from its member's tariff (else
    the community's, `pricing.selectors.tariff_at` / `tariff_price`), 0 where unknown (no
    tariff that day, a dynamic tariff: counted as missing). None when the community has no
    tariff at all (then no money line is printed)."""
    from pricing.models import Tariff
    from pricing.selectors import tariff_at, tariff_price

    if not Tariff.objects.filter(community=community).exists():
        return None, 0
    tz = ZoneInfo(community.time_zone)
    memberships = Membership.objects.in_bulk({p.membership_id for p in points})
    local = [s.astimezone(tz) for s in starts]
    out, missing, tariffs = np.zeros((len(points), len(starts))), 0, {}
    for i, point in enumerate(points):
        if point.direction == "injection":
            continue
        membership = memberships[point.membership_id]
        for t, at in enumerate(local):
            key = (membership.pk, at.date())
            if key not in tariffs:
                tariffs[key] = tariff_at(community=community, membership=membership, day=at.date())
            tariff = tariffs[key]
            price = tariff_price(tariff, at, None).price_eur_per_kwh if tariff is not None else None
            if price is None:
                missing += 1
            else:
                out[i, t] = float(price)
    return out.tolist(), missing


def _aware(value) -> datetime:
    """An aware UTC datetime from a datetime or a numpy datetime64 (UTC, as the run's arrays)."""
    if isinstance(value, np.datetime64):
        seconds = value.astype("datetime64[s]").astype(np.int64)
        return datetime.fromtimestamp(int(seconds), tz=UTC)
    return value
