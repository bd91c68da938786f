"""The interface every regime implements: `SettlementInputs` -> `RegimeResult`.

Pure data, no Django: a regime function may not touch the database, so a run is a pure
function of its inputs (the engine hashes them) and the Hypothesis properties can drive
it directly. Energy is float64 kWh per interval (NaN = missing, decided upstream by the
referent's gap decisions), money `Decimal`, rounded once per line (`LineSpec.amount`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

CENT = Decimal("0.01")


def cents(value) -> Decimal:
    """Round an unrounded amount (float or Decimal) once, half up, to the cent."""
    return Decimal(repr(float(value)) if isinstance(value, float) else value).quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class PointInfo:
    """One metering point (a row of the energy arrays)."""

    id: int
    membership_id: int
    user_id: int
    member_type: str  # consumer / producer / prosumer
    direction: str  # withdrawal / injection / both
    code: str = ""
    primary_substation: str = ""
    market_zone: str = ""
    grant_exempt: bool = False  # local authority, religious, third-sector body (DOMAIN.md)
    is_business: bool = False  # businesses get no part of the excess premium


@dataclass(frozen=True)
class PlantInfo:
    """One plant: its injection is the injection row of its metering point."""

    id: int
    point_index: int  # row in the energy arrays
    membership_id: int
    power_kw: float
    commissioned_on: date | None
    region: str | None  # Italian region looked up from the location; None = outside Italy
    grant_pct: float = 0.0
    technology: str = "pv"
    voltage: str = "lv"  # lv / mv (AUC avoided losses)
    in_building: bool = True  # AUC: plant in the group's building
    # investors' shares of the plant's producer part: ((user_id, pct), ...); the owner's
    # membership keeps the rest.
    shares: tuple[tuple[int, float], ...] = ()


@dataclass(frozen=True)
class Statute:
    """The community's split (Configuration in force), percentages as Decimal."""

    producers_pct: Decimal
    consumers_pct: Decimal
    fund_pct: Decimal
    allocation_key: str = ""
    static_shares: dict = field(default_factory=dict)


@dataclass(frozen=True)
class StatuteSegment:
    """The configuration version in force over the intervals [start, stop) of the period
    (indices into the energy arrays); `valid_from` / `valid_to` are its own dates."""

    statute: Statute
    start: int
    stop: int
    configuration_id: int | None = None
    valid_from: date | None = None
    valid_to: date | None = None

    def detail(self) -> dict:
        """What a line's `detail` says of the configuration a part of it came from."""
        return {
            "configuration": self.configuration_id,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
            "intervals": [self.start, self.stop],
        }


@dataclass(frozen=True)
class ParamSegment:
    """The regime's parameter version in force over the intervals [start, stop) of the
    period (indices into the energy arrays); `valid_from` / `valid_to` are the dates it is in
    force within the period (a version's own `valid_from` is a date: it starts at the
    community's local midnight)."""

    version: str
    params: dict
    start: int
    stop: int
    valid_from: date | None = None
    valid_to: date | None = None

    def detail(self) -> dict:
        """What a line's `detail` says of the parameter version a part of it came from."""
        return {
            "version": self.version,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
            "intervals": [self.start, self.stop],
        }


@dataclass
class SettlementInputs:
    regime: str
    interval_starts: np.ndarray  # datetime64[s], UTC, shape (n_intervals,)
    interval_minutes: int
    points: list[PointInfo]
    withdrawal_kwh: np.ndarray  # float64 (n_points, n_intervals), NaN = missing
    injection_kwh: np.ndarray  # float64 (n_points, n_intervals), NaN = missing
    plants: list[PlantInfo]
    zonal_eur_per_mwh: np.ndarray  # float64 (n_intervals,)
    statute: Statute
    params: dict
    params_version: str = ""
    community_substation: str = ""
    community_market_zone: str = ""
    closes_year: bool = False  # December: the run settles the yearly excess premium
    # for the yearly excess premium / true-up: the year's earlier months, per plant id
    year_to_date: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)  # regime-specific inputs (coefficients...)
    # The statute per interval when the configuration changes within the period (issue 10:
    # each version applies to the intervals of its validity); empty = `statute` throughout.
    statute_segments: list[StatuteSegment] = field(default_factory=list)
    # The regime's parameter version per interval when it changes within the period (each
    # version applies to the intervals of its validity); empty = `params` / `params_version`
    # throughout. With segments, `params` / `params_version` are the version in force at the
    # period's close (its last interval): the yearly excess premium's thresholds.
    param_segments: list[ParamSegment] = field(default_factory=list)

    def segments(self) -> list[StatuteSegment]:
        """The statute per interval as consecutive segments covering every interval."""
        return self.statute_segments or [StatuteSegment(self.statute, 0, self.n_intervals)]

    def parameter_segments(self) -> list[ParamSegment]:
        """The parameter version per interval as consecutive segments covering every interval."""
        whole = ParamSegment(self.params_version or "?", self.params, 0, self.n_intervals)
        return self.param_segments or [whole]

    def versions(self, start: int = 0, stop: int | None = None) -> list[str]:
        """The parameter versions in force over the intervals [start, stop), in order of
        first use (each once)."""
        stop = self.n_intervals if stop is None else stop
        used = (s.version for s in self.parameter_segments() if s.start < stop and s.stop > start)
        return list(dict.fromkeys(used))

    def version_label(self, start: int = 0, stop: int | None = None) -> str:
        """How a line's rule names the versions it used: `2024`, or `2024+2025` (issue 10)."""
        return "+".join(self.versions(start, stop)) or "?"

    @property
    def n_points(self) -> int:
        return len(self.points)

    @property
    def n_intervals(self) -> int:
        return int(self.interval_starts.shape[0])


@dataclass(frozen=True)
class LineSpec:
    membership_id: int | None
    plant_id: int | None
    kind: str
    rule: str
    energy_kwh: float
    amount: Decimal
    detail: dict = field(default_factory=dict)
    user_id: int | None = None  # who is paid when not the membership's user (investor)


@dataclass
class RegimeResult:
    """Per-interval arrays for the reports plus the lines to print and post."""

    shared_kwh: np.ndarray  # (n_intervals,)
    allocated_kwh: np.ndarray  # (n_points, n_intervals): energy attributed to each point
    lines: list[LineSpec]
    series: dict = field(default_factory=dict)  # further per-interval arrays (self_consumed...)
    totals: dict = field(default_factory=dict)
    surplus_kwh: np.ndarray | None = None


Regime = Callable[[SettlementInputs], RegimeResult]
