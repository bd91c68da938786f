"""France's collective self-consumption (ACC) rules (DOMAIN.md, "France: ACC").

Code de l'énergie L315-2 and R315-1 ff.; the allocation keys as Enedis applies them per
15-minute interval; the perimeter of the arrêté of 21 Nov 2019 as amended by the arrêté of
19 Sep 2023 (2 km, 10 km by derogation when every participant is in a rural or peri-urban
municipality, 20 km when all are rural); the power cap of the arrêté of 21 Feb 2025 (5 MW,
10 MW for public-body projects within one EPCI). Figures come from the regime's parameter
set (`communities/regime_sets.py`), never from this module.

The four keys, all capped at the consumer's consumption in the interval, what is left
being surplus sold to the grid:

1. ``static``: a fixed share of the (pooled) production per consumer; an unused share is
   surplus;
2. ``default_dynamic``: pro rata to each consumer's consumption in the interval;
3. ``simple_dynamic``: the PMO's share per consumer per interval (imported);
4. ``full_dynamic``: a coefficient per (producer, consumer) pair per interval (imported);
   a consumer's cap scales all its pairs alike; the surplus is per producer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from energy_rules.allocation import Allocation, as_energy, as_shares, by_shares, pro_rata, with_producers
from energy_rules.figures import default_params

KEYS = ("static", "default_dynamic", "simple_dynamic", "full_dynamic")
#: Configuration.allocation_key -> the French key it stands for
CONFIGURATION_KEYS = {"static": "static", "pro_rata": "default_dynamic", "dynamic": "simple_dynamic",
                      "full_dynamic": "full_dynamic"}
MUNICIPALITY_CLASSES = ("urban", "peri_urban", "rural")


def allocate(key: str, production_by_producer, consumption, *, shares=None) -> Allocation:
    """Allocate the production of P producers ((T, P) kWh) to C consumers ((T, C) kWh).

    `shares`: static (C,) fixed shares; simple_dynamic (T, C) shares per interval;
    full_dynamic (T, P, C) coefficients, each producer's row summing to at most 1."""
    prod_p = as_energy(production_by_producer, "production", 2)
    cons = as_energy(consumption, "consumption", 2)
    if prod_p.shape[0] != cons.shape[0]:
        raise ValueError("production and consumption cover different intervals")
    production = prod_p.sum(axis=1)
    if key == "static":
        fixed = as_shares(shares, "static shares", 1, sum_axis=0)
        return with_producers(by_shares(production, cons, fixed), prod_p)
    if key == "default_dynamic":
        return with_producers(pro_rata(production, cons), prod_p)
    if key == "simple_dynamic":
        per_interval = as_shares(shares, "simple dynamic shares", 2, sum_axis=1)
        if per_interval.shape != cons.shape:
            raise ValueError("simple dynamic shares must be (intervals, consumers)")
        return with_producers(by_shares(production, cons, per_interval), prod_p)
    if key == "full_dynamic":
        return full_dynamic(prod_p, cons, shares)
    raise ValueError(f"unknown French allocation key {key!r}")


def full_dynamic(production_by_producer: np.ndarray, consumption: np.ndarray, coefficients) -> Allocation:
    """Pair (p, c) is offered coefficient[t, p, c] x production[t, p]; when a consumer is
    offered more than it consumes, all its pairs are scaled by consumption / offered, so
    the cap keeps each producer's proportion. Surplus per producer = production - given."""
    coef = as_shares(coefficients, "full dynamic coefficients", 3, sum_axis=2)
    t, p = production_by_producer.shape
    if coef.shape != (t, p, consumption.shape[1]):
        raise ValueError("full dynamic coefficients must be (intervals, producers, consumers)")
    offered = coef * production_by_producer[:, :, None]
    offered_c = offered.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scale = np.where(offered_c > consumption, consumption / offered_c, 1.0)
    pairs = offered * scale[:, None, :]
    allocated = np.minimum(pairs.sum(axis=1), consumption)
    by_producer = np.maximum(production_by_producer - pairs.sum(axis=2), 0.0)
    return Allocation(allocated, by_producer.sum(axis=1), surplus_by_producer_kwh=by_producer,
                      allocated_by_pair_kwh=pairs)


# -- perimeter and power ------------------------------------------------------------------

_A, _F = 6378137.0, 1 / 298.257223563  # WGS 84
_B = _A * (1 - _F)


def geodesic_m(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Distance on the WGS 84 ellipsoid in metres (Vincenty's inverse formula, vectorised;
    sub-millimetre for the short distances of a perimeter; nearly antipodal points, which
    no perimeter has, may not converge and fall back to the last iterate)."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(v, dtype=np.float64)) for v in (lat1, lon1, lat2, lon2))
    u1, u2 = np.arctan((1 - _F) * np.tan(lat1)), np.arctan((1 - _F) * np.tan(lat2))
    big_l = lon2 - lon1
    lam = big_l.copy()
    su1, cu1, su2, cu2 = np.sin(u1), np.cos(u1), np.sin(u2), np.cos(u2)
    for _ in range(200):
        sl, cl = np.sin(lam), np.cos(lam)
        s_sigma = np.sqrt((cu2 * sl) ** 2 + (cu1 * su2 - su1 * cu2 * cl) ** 2)
        c_sigma = su1 * su2 + cu1 * cu2 * cl
        sigma = np.arctan2(s_sigma, c_sigma)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            s_alpha = np.where(s_sigma > 0, cu1 * cu2 * sl / s_sigma, 0.0)
            c2_alpha = 1 - s_alpha ** 2
            c2_sm = np.where(c2_alpha > 0, c_sigma - 2 * su1 * su2 / c2_alpha, 0.0)
        c = _F / 16 * c2_alpha * (4 + _F * (4 - 3 * c2_alpha))
        prev = lam
        lam = big_l + (1 - c) * _F * s_alpha * (
            sigma + c * s_sigma * (c2_sm + c * c_sigma * (-1 + 2 * c2_sm ** 2)))
        if np.all(np.abs(lam - prev) < 1e-12):
            break
    u_sq = c2_alpha * (_A ** 2 - _B ** 2) / _B ** 2
    a = 1 + u_sq / 16384 * (4096 + u_sq * (-768 + u_sq * (320 - 175 * u_sq)))
    b = u_sq / 1024 * (256 + u_sq * (-128 + u_sq * (74 - 47 * u_sq)))
    d_sigma = b * s_sigma * (c2_sm + b / 4 * (c_sigma * (-1 + 2 * c2_sm ** 2) - b / 6 * c2_sm * (
        -3 + 4 * s_sigma ** 2) * (-3 + 4 * c2_sm ** 2)))
    return np.where(s_sigma == 0, 0.0, _B * a * (sigma - d_sigma))


def _hull(xy: np.ndarray) -> np.ndarray:
    """Indices of the convex hull of planar points (Andrew's monotone chain)."""
    order = np.lexsort((xy[:, 1], xy[:, 0]))

    def chain(indices):
        out: list[int] = []
        for i in indices:
            while len(out) >= 2:
                o, a = xy[out[-2]], xy[out[-1]]
                if (a[0] - o[0]) * (xy[i][1] - o[1]) - (a[1] - o[1]) * (xy[i][0] - o[0]) > 0:
                    break
                out.pop()
            out.append(int(i))
        return out

    lower, upper = chain(order), chain(order[::-1])
    return np.unique(np.array(lower[:-1] + upper[:-1] or list(order), dtype=int))


def furthest_pair(lats, lons) -> tuple[float, int, int]:
    """(metres, i, j): the two furthest points. Many points are first reduced to their
    convex hull in a local equirectangular projection: the furthest pair sits on the hull,
    and over a perimeter's few tens of km the projection's distortion (~1e-4) cannot change
    which pair is furthest by more than that."""
    lats, lons = np.asarray(lats, dtype=np.float64), np.asarray(lons, dtype=np.float64)
    n = len(lats)
    if n < 2:
        return 0.0, 0, 0
    candidates = np.arange(n)
    if n > 200:
        x = np.radians(lons - lons.mean()) * np.cos(np.radians(lats.mean()))
        y = np.radians(lats - lats.mean())
        candidates = _hull(np.column_stack([x, y]))
        if len(candidates) < 2:
            candidates = np.arange(n)
    i, j = np.triu_indices(len(candidates), k=1)
    d = geodesic_m(lats[candidates[i]], lons[candidates[i]], lats[candidates[j]], lons[candidates[j]])
    k = int(np.argmax(d))
    return float(d[k]), int(candidates[i[k]]), int(candidates[j[k]])


@dataclass(frozen=True)
class PerimeterCheck:
    ok: bool
    distance_km: float
    limit_km: float
    #: which limit applied: "default", "peri_urban_or_rural" or "rural"
    limit_kind: str
    furthest: tuple[int, int]


def perimeter_limit(classes, params: dict | None = None) -> tuple[float, str]:
    """The distance allowed (km) for participants in municipalities of `classes`: 20 km
    when all are rural, 10 when all are rural or peri-urban, else 2 (an unknown class is
    treated as urban: a derogation is granted only on the operator's word)."""
    limits = (params or default_params("fr_acc"))["perimeter_km"]
    classes = set(classes)
    if classes and classes <= {"rural"}:
        return float(limits["rural"]), "rural"
    if classes and classes <= {"rural", "peri_urban"}:
        return float(limits["peri_urban_or_rural"]), "peri_urban_or_rural"
    return float(limits["default"]), "default"


def perimeter_check(lats, lons, classes, params: dict | None = None) -> PerimeterCheck:
    """Is the distance between the two furthest participants (metering points and plants,
    geodesic) within the limit their municipalities' classes allow?"""
    limit, kind = perimeter_limit(classes, params)
    metres, i, j = furthest_pair(lats, lons)
    km = metres / 1000
    return PerimeterCheck(ok=km <= limit, distance_km=km, limit_km=limit, limit_kind=kind, furthest=(i, j))


def power_limit_kw(*, public_body_single_epci: bool, params: dict | None = None) -> float:
    """The operation's cap on installed production power (kW)."""
    p = params or default_params("fr_acc")
    mw = p["max_power_mw_public_body_epci"] if public_body_single_epci else p["max_power_mw"]
    return float(mw) * 1000
