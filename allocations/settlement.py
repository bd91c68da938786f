"""The database half of France's and Austria's settlement inputs: what their regime modules
(`settlement/regimes/fr_acc.py`, `at_eeg.py`) read from `SettlementInputs.extra`.

The run's input builder calls `regime_extra(...)` once per run with the points (in the
order of the energy arrays) and the interval starts; the regime functions stay pure."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from allocations.selectors import french_shares
from communities.models import Community, Membership, Regime


def regime_extra(*, community: Community, points: list, interval_starts: list[datetime],
                 supply_eur_per_kwh=None) -> dict:
    """`points`: objects with `.id`, `.membership_id` and `.direction` (PointInfo or
    MeteringPoint), in the rows' order. `supply_eur_per_kwh`: France's optional (N,) or
    (N, T) supply prices (e.g. from `pricing.selectors.supply_price`)."""
    if community.regime == Regime.FR_ACC:
        interval_starts = [_aware(s) for s in interval_starts]
        ids = [p.id for p in points]
        producers = [i for i, p in enumerate(points) if p.direction != "withdrawal"]
        simple, full, uncovered = french_shares(community=community, interval_starts=interval_starts,
                                                consumer_ids=ids, producer_ids=[ids[i] for i in producers])
        extra = {"fr_simple_shares": simple.T, "fr_coefficients": full, "fr_producer_points": producers,
                 "fr_intervals_without_shares": uncovered}
        if supply_eur_per_kwh is not None:
            extra["supply_eur_per_kwh"] = np.asarray(supply_eur_per_kwh, dtype=float)
        return extra
    if community.regime == Regime.AT_EEG:
        memberships = Membership.objects.in_bulk({p.membership_id for p in points})
        return {
            "participation_factors": np.array(
                [float(memberships[p.membership_id].participation_factor_pct) / 100 for p in points]),
            "network_levels": [memberships[p.membership_id].network_level for p in points],
            "eeg_scope": community.eeg_scope or "local",
        }
    return {}


def _aware(value) -> datetime:
    """An aware UTC datetime from a datetime or a numpy datetime64 (UTC, as the run's arrays)."""
    if isinstance(value, np.datetime64):
        seconds = value.astype("datetime64[s]").astype(np.int64)
        return datetime.fromtimestamp(int(seconds), tz=UTC)
    return value
