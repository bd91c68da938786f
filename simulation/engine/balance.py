"""Energy balance per interval, shared energy and the dispatch objective.

Per member meter m and interval t (kWh): net = pv - load - charge + discharge;
injection = max(net, 0), withdrawal = max(-net, 0). Shared energy (DOMAIN.md):

    shared_t = min( sum_m injection_mt , sum_m withdrawal_mt )

Conservation: pv + withdrawal = load + injection + charge - discharge, and each battery's
stored energy moves by eta_c * charge - discharge / eta_d; the rest is its loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from energy_rules.it_cacer import gse_allocation  # noqa: F401  (one rule, re-exported)
from simulation.engine.dispatch import Dispatch


@dataclass
class Balance:
    load_kwh: np.ndarray  # (M, T)
    pv_kwh: np.ndarray  # (M, T)
    charge_kwh: np.ndarray  # (M, T) battery charge behind each meter
    discharge_kwh: np.ndarray  # (M, T)
    injection_kwh: np.ndarray  # (M, T)
    withdrawal_kwh: np.ndarray  # (M, T)
    shared_kwh: np.ndarray  # (T,)

    @property
    def self_consumption_kwh(self) -> np.ndarray:
        """Load covered behind each meter (directly or through its battery)."""
        return self.load_kwh - self.withdrawal_kwh


def balance(
    load_kwh: np.ndarray, pv_kwh: np.ndarray, dispatch: Dispatch, battery_member: np.ndarray
) -> Balance:
    charge = np.zeros_like(load_kwh)
    discharge = np.zeros_like(load_kwh)
    if len(battery_member):
        np.add.at(charge, battery_member, dispatch.charge_kwh)
        np.add.at(discharge, battery_member, dispatch.discharge_kwh)
    net = pv_kwh - load_kwh - charge + discharge
    injection = np.maximum(net, 0.0)
    withdrawal = np.maximum(-net, 0.0)
    shared = np.minimum(injection.sum(axis=0), withdrawal.sum(axis=0))
    return Balance(load_kwh, pv_kwh, charge, discharge, injection, withdrawal, shared)


def objective_eur(
    b: Balance, *, sell_eur_per_kwh: np.ndarray, buy_eur_per_kwh: np.ndarray, rate_eur_per_kwh: np.ndarray
) -> float:
    """The community's value the optimal dispatch maximises: export revenue - purchases +
    value of shared energy. The same function scores the baseline and the optimum."""
    return float(
        (b.injection_kwh.sum(axis=0) * sell_eur_per_kwh).sum()
        - (b.withdrawal_kwh.sum(axis=0) * buy_eur_per_kwh).sum()
        + (b.shared_kwh * rate_eur_per_kwh).sum()
    )


def plant_injection_kwh(b: Balance, plant_pv_kwh: np.ndarray, plant_member: np.ndarray) -> np.ndarray:
    """Each plant's part of its meter's injection, pro rata to its production."""
    member_pv = b.pv_kwh[plant_member]
    share = np.divide(plant_pv_kwh, member_pv, out=np.zeros_like(plant_pv_kwh), where=member_pv > 0)
    return share * b.injection_kwh[plant_member]
