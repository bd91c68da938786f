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


def rule(inputs: SettlementInputs, name: str, versions: str | None = None) -> str:
    """The line's rule, as the other regimes name it: `<regime>.<rule>@<parameter version>`;
    `versions` the ones its intervals used (`2024+2025`), default every version of the period."""
    return f"{inputs.regime}.{name}@{versions or inputs.version_label()}"


def parameter_detail(inputs: SettlementInputs, start: int = 0, stop: int | None = None) -> dict:
    """With several parameter versions in the period, the versions a line's intervals
    [start, stop) used (`detail["parameter_segments"]`); nothing with one (issue 10)."""
    segments = inputs.parameter_segments()
    if len(segments) == 1:
        return {}
    stop = inputs.n_intervals if stop is None else stop
    return {"parameter_segments": [s.detail() for s in segments if s.start < stop and s.stop > start]}


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
        # the parameter versions in force over the key's intervals
        versions = "+".join(dict.fromkeys(v for seg in segs for v in inputs.versions(seg.start, seg.stop)))
        params = [p for seg in segs for p in parameter_detail(inputs, seg.start, seg.stop).get(
            "parameter_segments", [])]
        for i, point in enumerate(inputs.points):
            detail = {"point_id": point.id, "code": point.code, "segments": [seg.detail() for seg in segs]}
            if params:
                detail["parameter_segments"] = params
            kwh = float(allocated[rows, i].sum())
            if kwh > 0:
                lines.append(LineSpec(point.membership_id, None, f"{regime}_allocated",
                                      rule(inputs, f"allocated.{key}", versions), kwh, ZERO, detail,
                                      point.user_id))
            kwh = float(surplus_by_point[rows, i].sum())
            if kwh > 0:
                lines.append(LineSpec(point.membership_id, None, f"{regime}_surplus",
                                      rule(inputs, f"surplus.{key}", versions), kwh, ZERO, detail,
                                      point.user_id))
    return lines
