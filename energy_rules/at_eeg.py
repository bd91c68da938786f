"""Austria's renewable energy communities (EEG) rules (DOMAIN.md, "Austria: EEG").

EAG 2021 (Erneuerbaren-Ausbau-Gesetz) and ElWOG 2010 §16c-16e; multiple participation
since 8 Apr 2024 (a meter in up to 5 communities, each membership with a whole-number
participation factor 1..100 %, summing to at most 100 %, not normalised); the grid-fee
reduction of the SNE-V (Systemnutzungsentgelte-Verordnung) on the energy-related grid
usage charge for community energy only. Figures come from the parameter set
(`communities/regime_sets.py`), never from this module.

Per 15 minutes, each meter's consumption counts for this community only up to its
participation factor (`factor x consumption`), a producer's generation likewise:

- ``static``: a fixed share of the community's generation per consumer, capped at its
  (factored) consumption; an unused share is surplus;
- ``dynamic``: the generation pro rata to the (factored) consumption, capped.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from energy_rules.allocation import Allocation, as_energy, as_shares, by_shares, pro_rata, with_producers
from energy_rules.figures import default_params

KEYS = ("static", "dynamic")
#: Configuration.allocation_key -> the Austrian key it stands for
CONFIGURATION_KEYS = {"static": "static", "pro_rata": "dynamic"}
SCOPES = ("local", "regional")
CENT = Decimal("0.01")


def _factors(values, n: int, n_t: int, name: str) -> np.ndarray:
    """(n,) one factor per meter, or (n, n_t) one per meter and quarter hour (a factor
    changed within the period, EAG §79), as a (1, n) or (n_t, n) multiplier of (T, n) energy."""
    if values is None:
        return np.ones((1, n))
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape not in ((n,), (n, n_t)) or not np.isfinite(arr).all() or (arr <= 0).any() or (arr > 1).any():
        raise ValueError(f"{name} must be {n} factors (or {n} x {n_t}) in (0, 1]")
    return arr.reshape(1, n) if arr.ndim == 1 else arr.T


def allocate(key: str, production_by_producer, consumption, *, shares=None,
             consumer_factors=None, producer_factors=None) -> Allocation:
    """Allocate (T, P) generation to (T, C) consumption, kWh per quarter hour.

    `consumer_factors` / `producer_factors`: participation factors as fractions (0, 1]
    (the membership's factor / 100), (C,) / (P,) for the whole period or (C, T) / (P, T)
    per meter and quarter hour when a factor changes within it; `shares`: the static key's
    (C,) shares.
    Allocated + surplus = the community's (factored) generation in every interval."""
    prod_p = as_energy(production_by_producer, "production", 2)
    cons = as_energy(consumption, "consumption", 2)
    if prod_p.shape[0] != cons.shape[0]:
        raise ValueError("production and consumption cover different intervals")
    n_t = cons.shape[0]
    prod_p = prod_p * _factors(producer_factors, prod_p.shape[1], n_t, "producer factors")
    cons = cons * _factors(consumer_factors, cons.shape[1], n_t, "consumer factors")
    production = prod_p.sum(axis=1)
    if key == "static":
        fixed = as_shares(shares, "static shares", 1, sum_axis=0)
        return with_producers(by_shares(production, cons, fixed), prod_p)
    if key == "dynamic":
        return with_producers(pro_rata(production, cons), prod_p)
    raise ValueError(f"unknown Austrian allocation key {key!r}")


@dataclass(frozen=True)
class GridFeeSaving:
    """A member's saving on the energy-related grid-usage charge for a period."""

    community_energy_kwh: Decimal
    charge_eur_per_kwh: Decimal
    reduction: Decimal  # fraction of the charge waived, 0..1
    saving_eur: Decimal  # rounded once, to the cent
    rule: str  # which figures produced it (shown on the statement)


def grid_fee_reduction(scope: str, network_level: int | None, params: dict | None = None) -> Decimal:
    """The share of the energy-related grid-usage charge waived on community energy for a
    member at `network_level` of a `scope` ("local" / "regional") community; 0 where the
    parameter set names no figure (e.g. a level outside the scope)."""
    table = (params or default_params("at_eeg"))["grid_fee_reduction"]
    if network_level is None:
        return Decimal("0")
    value = table.get(scope, {}).get(str(network_level))
    return Decimal(str(value)) if value is not None else Decimal("0")


def grid_fee_saving(community_energy_kwh: float, *, scope: str, network_level: int | None,
                    params: dict | None = None) -> GridFeeSaving:
    """saving = community energy (unrounded sum over the period) x charge per kWh at the
    member's level x reduction, rounded once to the cent."""
    p = params or default_params("at_eeg")
    kwh = Decimal(repr(float(community_energy_kwh)))
    charge = p["grid_usage_energy_charge_eur_per_kwh"].get(str(network_level)) if network_level else None
    charge = Decimal(str(charge)) if charge is not None else Decimal("0")
    reduction = grid_fee_reduction(scope, network_level, p)
    saving = (kwh * charge * reduction).quantize(CENT, rounding=ROUND_HALF_UP)
    rule = (f"at_eeg grid fee: {scope} community, network level {network_level}: "
            f"{kwh} kWh x {charge} EUR/kWh x {reduction}")
    return GridFeeSaving(kwh, charge, reduction, saving, rule)
