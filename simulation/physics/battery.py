"""Battery physics shared by the rule-based dispatch, the LP checks and the device simulator.

Sign convention: ``charge_kw`` is AC power taken from the meter's bus, ``discharge_kw`` AC
power delivered to it. Stored energy moves by ``charge * dt * eta_c`` in and
``discharge * dt / eta_d`` out; the difference is the battery's loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BatterySpec:
    capacity_kwh: float
    power_kw: float
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    soc_min_pct: float = 10.0
    soc_max_pct: float = 100.0
    soc_initial_pct: float = 50.0

    def __post_init__(self):
        if self.capacity_kwh <= 0 or self.power_kw <= 0:
            raise ValueError("battery capacity and power must be positive")
        if not (0 < self.charge_efficiency <= 1 and 0 < self.discharge_efficiency <= 1):
            raise ValueError("battery efficiencies must be in (0, 1]")
        if not (0 <= self.soc_min_pct <= self.soc_initial_pct <= self.soc_max_pct <= 100):
            raise ValueError("battery SoC limits must satisfy 0 <= min <= initial <= max <= 100")

    @classmethod
    def from_round_trip(cls, *, round_trip_efficiency: float, **kwargs) -> BatterySpec:
        """Split a round-trip efficiency evenly between charge and discharge."""
        eta = math.sqrt(round_trip_efficiency)
        return cls(charge_efficiency=eta, discharge_efficiency=eta, **kwargs)

    @property
    def soc_min_kwh(self) -> float:
        return self.capacity_kwh * self.soc_min_pct / 100.0

    @property
    def soc_max_kwh(self) -> float:
        return self.capacity_kwh * self.soc_max_pct / 100.0

    @property
    def soc_initial_kwh(self) -> float:
        return self.capacity_kwh * self.soc_initial_pct / 100.0


def battery_step(
    spec: BatterySpec, *, soc_kwh: float, request_kw: float, dt_h: float
) -> tuple[float, float, float]:
    """One interval: ``request_kw`` > 0 asks to charge, < 0 to discharge.

    Returns (charge_kw, discharge_kw, new_soc_kwh), clipped to the power limit and to the
    SoC window, so the result is always physically feasible.
    """
    if request_kw > 0:
        room_kwh = max(0.0, spec.soc_max_kwh - soc_kwh)
        charge = min(request_kw, spec.power_kw, room_kwh / (spec.charge_efficiency * dt_h))
        return charge, 0.0, soc_kwh + charge * dt_h * spec.charge_efficiency
    if request_kw < 0:
        avail_kwh = max(0.0, soc_kwh - spec.soc_min_kwh)
        discharge = min(-request_kw, spec.power_kw, avail_kwh * spec.discharge_efficiency / dt_h)
        return 0.0, discharge, soc_kwh - discharge * dt_h / spec.discharge_efficiency
    return 0.0, 0.0, soc_kwh


@dataclass
class BatteryFlows:
    charge_kw: np.ndarray
    discharge_kw: np.ndarray
    soc_kwh: np.ndarray  # at the END of each interval

    def loss_kwh(self, spec: BatterySpec, dt_h: float) -> np.ndarray:
        return (
            self.charge_kw * (1 - spec.charge_efficiency)
            + self.discharge_kw * (1 / spec.discharge_efficiency - 1)
        ) * dt_h


def dispatch_self_consumption(
    spec: BatterySpec, surplus_kw: np.ndarray, dt_h: float, soc_start_kwh: float | None = None
) -> BatteryFlows:
    """Rule-based baseline: charge from the meter's surplus, discharge to cover its deficit."""
    n = len(surplus_kw)
    charge, discharge, soc = np.zeros(n), np.zeros(n), np.zeros(n)
    level = spec.soc_initial_kwh if soc_start_kwh is None else soc_start_kwh
    for t in range(n):
        charge[t], discharge[t], level = battery_step(
            spec, soc_kwh=level, request_kw=float(surplus_kw[t]), dt_h=dt_h
        )
        soc[t] = level
    return BatteryFlows(charge, discharge, soc)
