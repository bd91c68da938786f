"""France's ACC settlement (DOMAIN.md, "France: ACC"): every formula comes from
`energy_rules.fr_acc`, the one implementation; this module applies the operation's key to
metered energy per 15 minutes and prints lines.

Inputs beyond the common ones (`inputs.extra`, filled from the database by
`allocations.settlement.regime_extra`):
- ``fr_simple_shares``: (N, T) the PMO's imported shares per point and interval;
- ``fr_coefficients``: (T, P, N) imported full dynamic coefficients of the producer points
  ``fr_producer_points`` (indices into `points`);
- ``supply_eur_per_kwh``: (N,) or (N, T) each point's supply price, when known: the
  allocated energy is then valued at it (a line per member, rounded once).

Lines: energy allocated per point, surplus per point (kWh, no money), and the value of
the allocated energy at the member's supply price (`fr_acc_supply_value`), which is what
the member does not buy from its supplier."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from energy_rules import fr_acc as rules
from settlement.regimes import register
from settlement.regimes._alloc_common import (
    energies,
    energy_lines,
    parameter_detail,
    rule,
    static_shares_per_point,
)
from settlement.regimes.base import LineSpec, RegimeResult, SettlementInputs, cents


def _key(statute) -> str:
    key = rules.CONFIGURATION_KEYS.get(statute.allocation_key or "pro_rata")
    if key is None:
        raise ValueError(f"allocation key {statute.allocation_key!r} is not a French key")
    return key


def allocate(inputs: SettlementInputs):
    """Every statute segment's key over its own intervals (a configuration changing within
    the period applies from its first day on, issue 10)."""
    cons, inj, missing = energies(inputs)
    n_t, n = cons.shape
    allocated, surplus_by_point, surplus = np.zeros((n_t, n)), np.zeros((n_t, n)), np.zeros(n_t)
    producers = list(inputs.extra.get("fr_producer_points", []))
    coef = inputs.extra.get("fr_coefficients")
    simple = inputs.extra.get("fr_simple_shares")
    keyed = []
    for seg in inputs.segments():
        key, sl = _key(seg.statute), slice(seg.start, seg.stop)
        keyed.append((seg, key))
        if key == "full_dynamic":
            # JSON-friendly nested lists lose the shape of an empty axis: restore it
            c = (np.zeros((n_t, len(producers), n)) if coef is None
                 else np.asarray(coef, dtype=float).reshape(n_t, len(producers), n))
            res = rules.allocate(key, inj[sl][:, producers], cons[sl], shares=c[sl])
            surplus_by_point[sl, producers] = res.surplus_by_producer_kwh
            # production of points not listed as producers has no coefficient: all surplus
            others = [i for i in range(n) if i not in set(producers)]
            surplus_by_point[sl, others] = inj[sl][:, others]
            surplus[sl] = surplus_by_point[sl].sum(axis=1)
        else:
            if key == "static":
                shares = static_shares_per_point(inputs, seg.statute)
            elif key == "simple_dynamic":
                shares = (np.zeros((n_t, n)) if simple is None
                          else np.asarray(simple, dtype=float).reshape(n, n_t).T)[sl]
            else:
                shares = None
            res = rules.allocate(key, inj[sl], cons[sl], shares=shares)
            surplus_by_point[sl], surplus[sl] = res.surplus_by_producer_kwh, res.surplus_kwh
        allocated[sl] = res.allocated_kwh
    return keyed, allocated, surplus, surplus_by_point, missing


@register("fr_acc")
def settle(inputs: SettlementInputs) -> RegimeResult:
    keyed, allocated, surplus, surplus_by_point, missing = allocate(inputs)
    lines = energy_lines(inputs, keyed, allocated, surplus_by_point)
    price = inputs.extra.get("supply_eur_per_kwh")
    if price is not None:
        price = np.asarray(price, dtype=float)
        shape = (len(inputs.points), len(surplus))
        price = np.broadcast_to(price[:, None] if price.ndim == 1 else price, shape)
        value = defaultdict(float)
        energy = defaultdict(float)
        for i, point in enumerate(inputs.points):
            value[(point.membership_id, point.user_id)] += float((allocated[:, i] * price[i]).sum())
            energy[(point.membership_id, point.user_id)] += float(allocated[:, i].sum())
        for (membership_id, user_id), eur in sorted(value.items()):
            if energy[(membership_id, user_id)] > 0:
                lines.append(LineSpec(membership_id, None, "fr_acc_supply_value",
                                      rule(inputs, "supply_value"),
                                      energy[(membership_id, user_id)], cents(eur),
                                      {"formula": "sum over intervals of allocated kWh x supply EUR/kWh",
                                       **parameter_detail(inputs)},
                                      user_id))
    return RegimeResult(
        shared_kwh=allocated.sum(axis=1), allocated_kwh=allocated.T.copy(), lines=lines,
        series={"surplus_by_point_kwh": surplus_by_point.T.copy()},
        totals={"key": "+".join(dict.fromkeys(k for _, k in keyed)), "allocated_kwh": float(allocated.sum()),
                "surplus_kwh": float(surplus.sum()),
                "missing_values": missing},
        surplus_kwh=surplus,
    )
