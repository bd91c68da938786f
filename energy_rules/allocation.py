"""Allocation keys shared by France's ACC and Austria's EEG (DOMAIN.md, "France: ACC" and
"Austria: EEG"): pure numpy, vectorised over intervals (rows) and consumers (columns).

Every key returns the energy allocated to each consumer in each interval, capped at that
consumer's consumption (what it may receive), and the interval's surplus, so that per
interval `allocated.sum(axis=1) + surplus == production` (energy conserved).
Energies are kWh per interval, float64; negative or NaN inputs are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Allocation:
    """Result of a key over T intervals, C consumers (and P producers where per pair)."""

    allocated_kwh: np.ndarray  # (T, C)
    surplus_kwh: np.ndarray  # (T,)
    #: (T, P): the surplus per producer where the key is per (producer, consumer) pair,
    #: otherwise the pooled surplus split pro rata to each producer's production.
    surplus_by_producer_kwh: np.ndarray | None = None
    #: (T, P, C) for the full dynamic key only
    allocated_by_pair_kwh: np.ndarray | None = None


def as_energy(values, name: str, ndim: int) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, has {arr.ndim}")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise ValueError(f"{name} must be finite and non-negative")
    return arr


def as_shares(values, name: str, ndim: int, *, sum_axis: int | None) -> np.ndarray:
    """Shares in [0, 1] whose sum along `sum_axis` is at most 1 (a tiny float excess from
    imported decimals is tolerated)."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, has {arr.ndim}")
    if not np.isfinite(arr).all() or (arr < 0).any() or (arr > 1).any():
        raise ValueError(f"{name} must be between 0 and 1")
    if sum_axis is not None and (arr.sum(axis=sum_axis) > 1 + 1e-9).any():
        raise ValueError(f"{name} add up to more than 1")
    return arr


def _surplus(production: np.ndarray, allocated: np.ndarray) -> np.ndarray:
    # never a negative surplus from float rounding (allocated <= production by construction)
    return np.maximum(production - allocated.sum(axis=1), 0.0)


def split_pro_rata(total: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(T,) total split over (T, K) weights per row; a row with no weight gets nothing."""
    wsum = weights.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = np.where(wsum > 0, weights * (total[:, None] / wsum), 0.0)
    return out


def by_shares(production: np.ndarray, consumption: np.ndarray, shares: np.ndarray) -> Allocation:
    """Each consumer gets its share (per interval (T, C) or fixed (C,)) of the production,
    capped at its consumption; an unused share is surplus (not passed to others)."""
    offered = production[:, None] * shares
    allocated = np.minimum(offered, consumption)
    return Allocation(allocated, _surplus(production, allocated))


def pro_rata(production: np.ndarray, consumption: np.ndarray) -> Allocation:
    """The production split pro rata to each consumer's consumption, each capped at its
    consumption: allocated = min(c, P x c / sum c) = c x min(1, P / sum c)."""
    total = consumption.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = np.where(total > 0, np.minimum(1.0, production / total), 0.0)
    allocated = consumption * ratio[:, None]
    return Allocation(allocated, _surplus(production, allocated))


def with_producers(result: Allocation, production_by_producer: np.ndarray) -> Allocation:
    """A pooled key's surplus per producer, pro rata to each producer's production."""
    return Allocation(
        result.allocated_kwh, result.surplus_kwh,
        surplus_by_producer_kwh=split_pro_rata(result.surplus_kwh, production_by_producer),
    )
