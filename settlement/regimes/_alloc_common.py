"""What France's and Austria's settlements share: the points as consumers (withdrawal) and
producers (injection), missing energy, and the per-point lines of allocated energy and
surplus. Pure (no database), like every regime module."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import numpy as np

from settlement.regimes.base import LineSpec, SettlementInputs, Statute, StatuteSegment

ZERO = Decimal("0.00")


def energies(inputs: SettlementInputs) -> tuple[np.ndarray, np.ndarray, int]:
    """(T, N) consumption and (T, N) production of every point; a missing value (NaN, left
    after the referent's gap decisions) counts as 0 and is counted."""
    wd, inj = inputs.withdrawal_kwh.T, inputs.injection_kwh.T
    missing = int(np.isnan(wd).sum() + np.isnan(inj).sum())
    return np.nan_to_num(wd, nan=0.0), np.nan_to_num(inj, nan=0.0), missing


def static_shares_per_point(inputs: SettlementInputs, statute: Statute | None = None) -> np.ndarray:
    """The statute's static shares ({membership_id: share}) per point: a membership's share
    split evenly over its points that withdraw (injection-only points get none). `statute`:
    the segment's (a configuration changing within the period), else the run's."""
    takers = [p.direction != "injection" for p in inputs.points]
    count = defaultdict(int)
    for point, takes in zip(inputs.points, takers, strict=True):
        count[point.membership_id] += takes
    shares = (statute or inputs.statute).static_shares or {}
    return np.array([
        float(shares.get(str(p.membership_id), shares.get(p.membership_id, 0))) / count[p.membership_id]
        if takes else 0.0
        for p, takes in zip(inputs.points, takers, strict=True)
    ])


def rule(inputs: SettlementInputs, name: str) -> str:
    """The line's rule, as the other regimes name it: `<regime>.<rule>@<parameter version>`."""
    return f"{inputs.regime}.{name}@{inputs.params_version or '?'}"


def energy_lines(inputs: SettlementInputs, keyed: list[tuple[StatuteSegment, str]], allocated: np.ndarray,
                 surplus_by_point: np.ndarray) -> list[LineSpec]:
    """One line per point with allocated energy (kind `<regime>_allocated`: capped at its
    consumption in every interval) and one per point with surplus (`<regime>_surplus`:
    injection left unallocated, sold to the grid); energy lines carry no money. `keyed`:
    the statute segments with the key each applied; a key's lines sum its segments'
    intervals, and their `detail["segments"]` name the configurations (issue 10)."""
    regime, lines = inputs.regime, []
    by_key: dict[str, list[StatuteSegment]] = {}
    for seg, key in keyed:
        by_key.setdefault(key, []).append(seg)
    for key, segs in by_key.items():
        rows = (slice(segs[0].start, segs[0].stop) if len(segs) == 1
                else np.concatenate([np.arange(seg.start, seg.stop) for seg in segs]))
        for i, point in enumerate(inputs.points):
            detail = {"point_id": point.id, "code": point.code, "segments": [seg.detail() for seg in segs]}
            kwh = float(allocated[rows, i].sum())
            if kwh > 0:
                lines.append(LineSpec(point.membership_id, None, f"{regime}_allocated",
                                      rule(inputs, f"allocated.{key}"), kwh, ZERO, detail, point.user_id))
            kwh = float(surplus_by_point[rows, i].sum())
            if kwh > 0:
                lines.append(LineSpec(point.membership_id, None, f"{regime}_surplus",
                                      rule(inputs, f"surplus.{key}"), kwh, ZERO, detail, point.user_id))
    return lines
