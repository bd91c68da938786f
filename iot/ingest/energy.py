"""Interval energy from a cumulative counter (kWh register), by differencing.

Counters are stored as read. For consecutive readings (t0, v0), (t1, v1) the energy of
[t0, t1) is `v1 - v0`. Two cases need care:

- counter reset (meter replaced, register cleared, wrap): `v1` below `RESET_RATIO` (90 %)
  of `v0`. The counter restarted from zero somewhere in [t0, t1), so the energy known for
  the interval is `v1` (what it counted since the restart); what it counted between t0 and
  the reset is lost. The row is flagged `reset`.
- a smaller drop is noise, not a reset: a register read at another precision (1817.98605
  stored, then 1817.986 from a device rounding to Wh) or a stale value sent again. The
  interval counts 0 (never the whole register, which would book a meter's lifetime energy
  in one interval), and the next difference starts from the lower value. Home Assistant's
  recorder draws the same line at 90 % for `total_increasing` sensors.
- gap: `t1 - t0` longer than `gap_factor` expected intervals. The difference is still the
  true energy of the whole span (the counter kept counting), so it is reported once over
  [t0, t1) and flagged `gap`; it is never spread over the missing intervals as if measured.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

# A register read below this share of its previous value restarted (a reset); a drop to
# this share or above is noise. The rollups' SQL uses the same figure (iot/rollups/service.py).
RESET_RATIO = 0.9


def counter_reset(v0: float, v1: float) -> bool:
    """Whether a register going from v0 to v1 restarted (see the module's docstring)."""
    return v1 < min(v0, RESET_RATIO * v0)


@dataclass(frozen=True)
class IntervalEnergy:
    start: datetime
    end: datetime
    energy_kwh: float
    gap: bool = False
    reset: bool = False


def interval_energy(series: Iterable[tuple[datetime, float]], expected_interval: timedelta,
                    *, gap_factor: float = 1.5) -> list[IntervalEnergy]:
    """Rows [start, end) with the counter's increase over each span between consecutive
    readings (kWh if the counter is in kWh). `series` is (ts, value) in any order; a repeated
    ts keeps its last value."""
    if expected_interval <= timedelta(0):
        raise ValueError("expected_interval must be positive")
    points = sorted(dict(series).items())
    longest = expected_interval * gap_factor
    rows = []
    for (t0, v0), (t1, v1) in pairwise(points):
        reset = counter_reset(v0, v1)
        rows.append(IntervalEnergy(start=t0, end=t1, energy_kwh=v1 if reset else max(v1 - v0, 0.0),
                                   gap=(t1 - t0) > longest, reset=reset))
    return rows
