"""Austria's EEG settlement (DOMAIN.md, "Austria: EEG"): every formula comes from
`energy_rules.at_eeg`; this module applies the community's key per quarter hour with each
membership's participation factor and prints lines.

Inputs beyond the common ones (`inputs.extra`, filled from the database by
`allocations.settlement.regime_extra`):
- ``participation_factors``: (N,) each point's membership factor as a fraction (0, 1], or
  (N, T) per quarter hour when a factor changes within the period (the version in force);
- ``network_levels``: (N,) each point's membership grid level (1..7, None unknown);
- ``eeg_scope``: "local" or "regional".

Lines: energy allocated and surplus per point (kWh), and per member the grid-fee saving on
the energy-related grid-usage charge for its community energy (`at_eeg_fee_saving`),
from the unrounded sum of the period, rounded once."""

from __future__ import annotations

import numpy as np

from energy_rules import at_eeg as rules
from settlement.regimes import register
from settlement.regimes._alloc_common import energies, energy_lines, rule, static_shares_per_point
from settlement.regimes.base import LineSpec, RegimeResult, SettlementInputs


@register("at_eeg")
def settle(inputs: SettlementInputs) -> RegimeResult:
    cons, inj, missing = energies(inputs)
    n, n_t = len(inputs.points), cons.shape[0]
    # (N,) for the whole period or (N, T) when a factor changes within it (EAG §79)
    factors = np.asarray(inputs.extra.get("participation_factors", np.ones(n)), dtype=float)
    factors = np.broadcast_to(factors[:, None] if factors.ndim == 1 else factors.reshape(n, n_t), (n, n_t))
    allocated, surplus_by_point, surplus = np.zeros((n_t, n)), np.zeros((n_t, n)), np.zeros(n_t)
    keyed = []
    for seg in inputs.segments():
        # each configuration version's key over its own intervals (issue 10)
        key = rules.CONFIGURATION_KEYS.get(seg.statute.allocation_key or "pro_rata")
        if key is None:
            raise ValueError(f"allocation key {seg.statute.allocation_key!r} is not an Austrian key")
        sl = slice(seg.start, seg.stop)
        keyed.append((seg, key))
        shares = static_shares_per_point(inputs, seg.statute) if key == "static" else None
        res = rules.allocate(key, inj[sl], cons[sl], shares=shares, consumer_factors=factors[:, sl],
                             producer_factors=factors[:, sl])
        allocated[sl], surplus_by_point[sl], surplus[sl] = (res.allocated_kwh, res.surplus_by_producer_kwh,
                                                            res.surplus_kwh)
    lines = energy_lines(inputs, keyed, allocated, surplus_by_point)
    levels = list(inputs.extra.get("network_levels", [None] * n))
    scope = inputs.extra.get("eeg_scope") or "local"
    lines += _fee_savings(inputs, allocated, levels, scope)
    return RegimeResult(
        shared_kwh=allocated.sum(axis=1), allocated_kwh=allocated.T.copy(), lines=lines,
        series={"surplus_by_point_kwh": surplus_by_point.T.copy()},
        totals={"key": "+".join(dict.fromkeys(k for _, k in keyed)), "allocated_kwh": float(allocated.sum()),
                "surplus_kwh": float(surplus.sum()), "missing_values": missing},
        surplus_kwh=surplus,
    )


def _fee_savings(inputs: SettlementInputs, allocated: np.ndarray, levels: list, scope: str) -> list[LineSpec]:
    """Per member: community energy x charge at its level x reduction. The figures are those
    of the parameter version in force in each quarter hour (issue 10): a member's energy is
    summed unrounded per group of versions with the same charge and reduction, one line per
    group (rule `...@<versions>`), each rounded once."""
    segments = inputs.parameter_segments()
    # each member's community energy per version segment: (member, user) -> [kWh per segment]
    energy: dict[tuple, list] = {}
    level_of = {}
    for i, point in enumerate(inputs.points):
        key = (point.membership_id, point.user_id)
        acc = energy.setdefault(key, [0.0] * len(segments))
        for s, seg in enumerate(segments):
            acc[s] += float(allocated[seg.start:seg.stop, i].sum())
        level_of[key] = levels[i]
    lines = []
    for key in sorted(energy):
        level = level_of[key]
        groups: dict[tuple, list] = {}  # (charge, reduction) -> [kWh, [segments], params]
        for seg, kwh in zip(segments, energy[key], strict=True):
            figures = rules.grid_fee_saving(0.0, scope=scope, network_level=level, params=seg.params)
            group = groups.setdefault((figures.charge_eur_per_kwh, figures.reduction), [0.0, [], seg.params])
            group[0] += kwh
            group[1].append(seg)
        for kwh, segs, params in groups.values():
            if kwh <= 0:
                continue
            saving = rules.grid_fee_saving(kwh, scope=scope, network_level=level, params=params)
            versions = "+".join(dict.fromkeys(seg.version for seg in segs))
            detail = {"reduction": str(saving.reduction), "formula": saving.rule,
                      "charge_eur_per_kwh": str(saving.charge_eur_per_kwh), "network_level": level,
                      "scope": scope}
            if len(segments) > 1:
                detail["parameter_segments"] = [seg.detail() for seg in segs]
            lines.append(LineSpec(key[0], None, "at_eeg_fee_saving",
                                  rule(inputs, f"grid_fee_saving.{scope}.level{level}", versions), kwh,
                                  saving.saving_eur, detail, key[1]))
    return lines
