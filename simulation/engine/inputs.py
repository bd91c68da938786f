"""The inputs of one simulation, independent of how they were stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd

from simulation.physics import BatterySpec


@dataclass
class MemberInput:
    key: str
    name: str
    profile: str = "H0"
    annual_kwh: float = 3000.0
    curve_kwh: np.ndarray | None = None  # energy per interval, overrides the profile
    business: bool = False


@dataclass
class PlantInput:
    key: str
    member_key: str  # the meter (member) the plant sits behind
    lat: float
    lon: float
    kwp: float
    tilt_deg: float = 30.0
    azimuth_deg: float = 180.0
    losses_pct: float = 14.0
    inverter_kw: float | None = None
    commissioned_on: date | None = None
    geo_zone: str = "south"  # north / centre / south (DM 414/2023 Annex 1)
    capital_grant_pct: float = 0.0

    @property
    def power_kw(self) -> float:
        """The plant's power on its POD, which picks the TIP band."""
        return float(self.inverter_kw or self.kwp)


@dataclass
class BatteryInput:
    key: str
    member_key: str
    spec: BatterySpec


@dataclass
class Tariffs:
    buy_eur_per_kwh: dict[str, float] = field(default_factory=lambda: {"F1": 0.30, "F2": 0.28, "F3": 0.25})
    export_price_eur_per_mwh: float | None = None  # None: the zonal price (GSE ritiro dedicato)
    zonal_price_eur_per_mwh: np.ndarray | None = None  # None: synthetic, seeded
    zonal_mean_eur_per_mwh: float = 110.0
    shared_bonus_eur_per_mwh: float = 0.0  # regimes without TIP: value of a shared MWh


@dataclass
class Economics:
    pv_capex_eur_per_kwp: Decimal = Decimal("1300")
    battery_capex_eur_per_kwh: Decimal = Decimal("600")
    extra_capex_eur: Decimal = Decimal("0")
    opex_pct_of_capex: Decimal = Decimal("1.5")
    discount_rate_pct: Decimal = Decimal("4")
    lifetime_years: int = 20


@dataclass
class Statute:
    producers_pct: Decimal = Decimal("55")
    consumers_pct: Decimal = Decimal("40")
    fund_pct: Decimal = Decimal("5")


@dataclass
class SimulationInput:
    index: pd.DatetimeIndex  # interval starts, UTC, regular
    time_zone: str
    regime: str
    regime_params: dict
    members: list[MemberInput]
    plants: list[PlantInput]
    batteries: list[BatteryInput]
    tariffs: Tariffs
    economics: Economics
    statute: Statute
    co2_kg_per_kwh: float = 0.25
    seed: int = 1
    country: str = "IT"
    window_days: int = 7
    time_limit_s: float = 120.0

    @property
    def dt_h(self) -> float:
        return (self.index[1] - self.index[0]).total_seconds() / 3600.0 if len(self.index) > 1 else 1.0
