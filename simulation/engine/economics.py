"""Money: Decimal, rounded once to the cent (DOMAIN.md, "Rounding and money")."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
from scipy.optimize import brentq

CENT = Decimal("0.01")


def to_money(value: float | Decimal) -> Decimal:
    """Round an exact amount to the cent, once."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def largest_remainder(total: Decimal, weights: list[float] | list[Decimal]) -> list[Decimal]:
    """Split ``total`` (cents) pro rata to ``weights`` so the parts add up exactly to it."""
    cents = int((total / CENT).to_integral_value())
    w = [Decimal(str(x)) if not isinstance(x, Decimal) else x for x in weights]
    wsum = sum(w, Decimal(0))
    if not w or wsum <= 0:
        return [Decimal(0).quantize(CENT) for _ in w]
    exact = [Decimal(cents) * x / wsum for x in w]
    floors = [int(e.to_integral_value(rounding="ROUND_FLOOR")) for e in exact]
    left = cents - sum(floors)
    order = sorted(range(len(w)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [(Decimal(c) * CENT).quantize(CENT) for c in floors]


def npv(rate: float, capex: float, cash_flows: list[float]) -> float:
    """Net present value: -capex now, cash_flows[y-1] at the end of year y."""
    years = np.arange(1, len(cash_flows) + 1)
    return float(-capex + np.sum(np.asarray(cash_flows) / (1.0 + rate) ** years))


def irr(capex: float, cash_flows: list[float]) -> float | None:
    """Internal rate of return (brentq on the NPV), None when there is no sign change."""
    if capex <= 0 or sum(cash_flows) <= capex:
        return None
    try:
        return float(brentq(lambda r: npv(r, capex, cash_flows), -0.99, 10.0, xtol=1e-10))
    except ValueError:
        return None


def simple_payback_years(capex: float, cash_flows: list[float]) -> float | None:
    """Years until cumulative (undiscounted) cash covers capex, interpolated; None if never."""
    cumulative = 0.0
    for year, cf in enumerate(cash_flows, start=1):
        if cf > 0 and cumulative + cf >= capex:
            return year - 1 + (capex - cumulative) / cf
        cumulative += cf
    return None
