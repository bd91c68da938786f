"""France's and Austria's allocation keys (`energy_rules`) on a month of quarter hours,
beside a plain-Python baseline of the same rule in the same run; the ACC perimeter check
(convex hull) beside the exhaustive pairwise distances.

Sizes: BENCH_ALLOC_CONSUMERS (1000), BENCH_ALLOC_PRODUCERS (20), BENCH_ALLOC_INTERVALS
(2976, March at 15 minutes), BENCH_ALLOC_FULL_CONSUMERS (100: the full dynamic key holds a
coefficient per producer, consumer and interval), BENCH_ALLOC_POINTS (1000 perimeter points).
"""

from __future__ import annotations

import os
import time
import tracemalloc

import numpy as np

from energy_rules import at_eeg, fr_acc


def _env(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _timed(fn, repeat: int = 3):
    """(result, best wall time of `repeat` runs, peak traced memory of one more run)."""
    walls = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        walls.append(time.perf_counter() - started)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, round(min(walls), 4), round(peak / 2**20, 1)


def _python_default_dynamic(production, consumption):
    """The baseline: the same rule, one interval and one consumer at a time."""
    out = []
    for t in range(len(production)):
        total = sum(consumption[t])
        ratio = min(1.0, production[t] / total) if total > 0 else 0.0
        out.append([c * ratio for c in consumption[t]])
    return out


def run() -> dict:
    n_c, n_p = _env("BENCH_ALLOC_CONSUMERS", 1000), _env("BENCH_ALLOC_PRODUCERS", 20)
    n_t, n_full = _env("BENCH_ALLOC_INTERVALS", 2976), _env("BENCH_ALLOC_FULL_CONSUMERS", 100)
    rng = np.random.default_rng(10)
    prod = rng.gamma(2.0, 1.5, (n_t, n_p))
    cons = rng.gamma(2.0, 0.1, (n_t, n_c))
    static = rng.dirichlet(np.ones(n_c)) * 0.95
    simple = rng.dirichlet(np.ones(n_c), n_t) * 0.95
    factors = rng.integers(1, 101, n_c) / 100
    coef = rng.dirichlet(np.ones(n_full), (n_t, n_p)) * 0.9
    out: dict = {"consumers": n_c, "producers": n_p, "intervals": n_t}
    cases = {
        "fr_default_dynamic": lambda: fr_acc.allocate("default_dynamic", prod, cons),
        "fr_static": lambda: fr_acc.allocate("static", prod, cons, shares=static),
        "fr_simple_dynamic": lambda: fr_acc.allocate("simple_dynamic", prod, cons, shares=simple),
        f"fr_full_dynamic_{n_full}_consumers": lambda: fr_acc.allocate("full_dynamic", prod, cons[:, :n_full],
                                                                     shares=coef),
        "at_dynamic_with_factors": lambda: at_eeg.allocate("dynamic", prod, cons, consumer_factors=factors),
    }
    for name, fn in cases.items():
        res, wall, peak = _timed(fn)
        out[name] = {"wall_s": wall, "peak_mib": peak,
                     "conserved": bool(np.allclose(res.allocated_kwh.sum(axis=1) + res.surplus_kwh,
                                                   prod.sum(axis=1)))}
    # the baseline: the same month through a plain-Python loop (lists in, lists out)
    production, consumption = prod.sum(axis=1).tolist(), cons.tolist()
    _, base, _ = _timed(lambda: _python_default_dynamic(production, consumption), repeat=1)
    out["baseline_python_default_dynamic"] = {"wall_s": base}
    out["speedup_default_dynamic"] = round(base / max(out["fr_default_dynamic"]["wall_s"], 1e-9), 1)
    # perimeter: hull + pairs among its vertices vs every pair
    n_pts = _env("BENCH_ALLOC_POINTS", 1000)
    lats, lons = 45 + rng.random(n_pts) * 0.15, 5 + rng.random(n_pts) * 0.2
    (hull_m, _, _), hull_s, hull_mib = _timed(lambda: fr_acc.furthest_pair(lats, lons))

    def exhaustive():
        i, j = np.triu_indices(n_pts, k=1)
        return float(fr_acc.geodesic_m(lats[i], lons[i], lats[j], lons[j]).max())

    all_m, all_s, all_mib = _timed(exhaustive)
    out["perimeter"] = {"points": n_pts, "hull_s": hull_s, "hull_peak_mib": hull_mib, "exhaustive_s": all_s,
                        "exhaustive_peak_mib": all_mib, "same_answer": abs(hull_m - all_m) < 1e-6}
    return out
