"""Battery dispatch: the rule-based baseline and the optimal LP.

Every battery sits behind a member's meter. With s = pv - load at that meter (fixed), a
battery charges only from the meter's surplus (c <= s+) and discharges only into its
deficit (d <= s-). That is the GSE rule for storage in a CACER (energy drawn from the grid
and re-injected earns no incentive), and it keeps the meter's direction fixed by s, so
injection = s+ - c and withdrawal = s- - d are LINEAR: no simultaneous import/export and
no simultaneous charge/discharge can arise (s+ * s- = 0), without binaries.

Optimal dispatch (per window of ``window_steps``), maximising the community's value

    sum_t [ -sell_t * sum_b c_bt + buy_t * sum_b d_bt + rate_t * sh_t ]   (+ constants)
    e_bt = e_b,t-1 + eta_c c_bt - d_bt / eta_d,   e_min <= e <= e_max,  c, d <= P dt
    sh_t <= INJ0_t - sum_b c_bt,   sh_t <= WD0_t - sum_b d_bt   (shared = min, DOMAIN.md)

where INJ0/WD0 are the community's injection/withdrawal with idle batteries. Each window
starts and ends at the baseline's state of charge, so the baseline's own trajectory is a
feasible point of every window: the optimum is never worse than the baseline, by
construction (the objective is a sum over intervals).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from simulation.engine.lp import LpResult, solve
from simulation.physics import BatterySpec, battery_step


@dataclass
class DispatchProblem:
    dt_h: float
    surplus_kwh: np.ndarray  # (n_meters_with_battery, T): pv - load at each battery meter
    battery_meter: np.ndarray  # (B,) row of surplus_kwh for each battery
    specs: list[BatterySpec]
    inj0_kwh: np.ndarray  # (T,) community injection with idle batteries
    wd0_kwh: np.ndarray  # (T,) community withdrawal with idle batteries
    sell_eur_per_kwh: np.ndarray
    buy_eur_per_kwh: np.ndarray
    rate_eur_per_kwh: np.ndarray  # value of one shared kWh (TIP + valorisation)


@dataclass
class Dispatch:
    charge_kwh: np.ndarray  # (B, T) AC energy into each battery per interval
    discharge_kwh: np.ndarray  # (B, T) AC energy out of each battery per interval
    soc_kwh: np.ndarray  # (B, T) at the end of each interval
    solver_status: str = "not needed"
    solver: str = ""
    build_s: float = 0.0
    solve_s: float = 0.0
    windows: int = 0


def baseline_dispatch(problem: DispatchProblem) -> Dispatch:
    """Charge from the meter's surplus, discharge to cover its deficit, battery by battery."""
    n_b, n_t = len(problem.specs), problem.surplus_kwh.shape[1]
    charge, discharge, soc = np.zeros((n_b, n_t)), np.zeros((n_b, n_t)), np.zeros((n_b, n_t))
    residual = problem.surplus_kwh.copy()
    dt = problem.dt_h
    for b, spec in enumerate(problem.specs):
        m = problem.battery_meter[b]
        level = spec.soc_initial_kwh
        row = residual[m]
        for t in range(n_t):
            c_kw, d_kw, level = battery_step(spec, soc_kwh=level, request_kw=row[t] / dt, dt_h=dt)
            charge[b, t], discharge[b, t], soc[b, t] = c_kw * dt, d_kw * dt, level
        residual[m] = row - charge[b] + discharge[b]
    return Dispatch(charge, discharge, soc, solver_status="rule-based")


def _window_lp(problem: DispatchProblem, lo: int, hi: int, e_start: np.ndarray, e_end: np.ndarray):
    n, n_b = hi - lo, len(problem.specs)
    n_col = 3 * n_b * n + n
    t = np.arange(n)
    rows, cols, vals = [], [], []
    row_lo, row_hi = [], []
    col_lo, col_hi, cost = np.zeros(n_col), np.zeros(n_col), np.zeros(n_col)
    sh = 3 * n_b * n + t
    surplus = problem.surplus_kwh[:, lo:hi]
    for b, spec in enumerate(problem.specs):
        c, d, e = (3 * b) * n + t, (3 * b + 1) * n + t, (3 * b + 2) * n + t
        s = surplus[problem.battery_meter[b]]
        cap = spec.power_kw * problem.dt_h
        col_hi[c] = np.minimum(cap, np.maximum(s, 0.0))
        col_hi[d] = np.minimum(cap, np.maximum(-s, 0.0))
        col_lo[e], col_hi[e] = spec.soc_min_kwh, spec.soc_max_kwh
        col_lo[e[-1]] = col_hi[e[-1]] = e_end[b]
        cost[c] = -problem.sell_eur_per_kwh[lo:hi]
        cost[d] = problem.buy_eur_per_kwh[lo:hi]
        r = b * n + t  # dynamics rows
        rows += [r, r[1:], r, r]
        cols += [e, e[:-1], c, d]
        vals += [
            np.ones(n),
            -np.ones(n - 1),
            np.full(n, -spec.charge_efficiency),
            np.full(n, 1.0 / spec.discharge_efficiency),
        ]
        rhs = np.zeros(n)
        rhs[0] = e_start[b]
        row_lo.append(rhs)
        row_hi.append(rhs)
        r_inj, r_wd = n_b * n + t, n_b * n + n + t
        rows += [r_inj, r_wd]
        cols += [c, d]
        vals += [np.ones(n), np.ones(n)]
    r_inj, r_wd = n_b * n + t, n_b * n + n + t
    rows += [r_inj, r_wd]
    cols += [sh, sh]
    vals += [np.ones(n), np.ones(n)]
    row_lo += [np.full(2 * n, -np.inf)]
    row_hi += [problem.inj0_kwh[lo:hi], problem.wd0_kwh[lo:hi]]
    n_row = n_b * n + 2 * n
    # Several batteries behind one meter share its surplus and deficit.
    for m in np.unique(problem.battery_meter):
        owners = np.flatnonzero(problem.battery_meter == m)
        if len(owners) < 2:
            continue
        s = surplus[m]
        for kind, bound in ((0, np.maximum(s, 0.0)), (1, np.maximum(-s, 0.0))):
            r = n_row + t
            for b in owners:
                rows.append(r)
                cols.append((3 * b + kind) * n + t)
                vals.append(np.ones(n))
            row_lo.append(np.full(n, -np.inf))
            row_hi.append(bound)
            n_row += n
    col_hi[sh] = np.inf
    cost[sh] = problem.rate_eur_per_kwh[lo:hi]
    a = sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_row, n_col)
    )
    return cost, a, np.concatenate(row_lo), np.concatenate(row_hi), col_lo, col_hi


def optimal_dispatch(
    problem: DispatchProblem,
    baseline: Dispatch,
    *,
    window_steps: int,
    backend: str = "highspy",
    time_limit_s: float = 120.0,
    on_window: Callable[[int, int], None] | None = None,
) -> Dispatch:
    """Solve window by window; raises SolverError when a window is not solved to optimality."""
    n_b, n_t = len(problem.specs), problem.surplus_kwh.shape[1]
    charge, discharge, soc = np.zeros((n_b, n_t)), np.zeros((n_b, n_t)), np.zeros((n_b, n_t))
    if n_b == 0:
        return Dispatch(charge, discharge, soc, solver_status="no battery")
    starts = list(range(0, n_t, window_steps))
    build_s = solve_s = 0.0
    result: LpResult | None = None
    initial = np.array([s.soc_initial_kwh for s in problem.specs])
    for k, lo in enumerate(starts):
        if on_window is not None:
            on_window(k, len(starts))
        hi = min(n_t, lo + window_steps)
        e_start = initial if lo == 0 else baseline.soc_kwh[:, lo - 1]
        began = time.perf_counter()
        lp = _window_lp(problem, lo, hi, e_start, baseline.soc_kwh[:, hi - 1])
        build_s += time.perf_counter() - began
        result = solve(*lp, backend=backend, time_limit_s=time_limit_s)
        solve_s += result.solve_s
        n = hi - lo
        x = result.x
        for b in range(n_b):
            charge[b, lo:hi] = np.maximum(x[(3 * b) * n : (3 * b + 1) * n], 0.0)
            discharge[b, lo:hi] = np.maximum(x[(3 * b + 1) * n : (3 * b + 2) * n], 0.0)
            soc[b, lo:hi] = x[(3 * b + 2) * n : (3 * b + 3) * n]
    return Dispatch(
        charge,
        discharge,
        soc,
        solver_status=result.status if result else "no interval",
        solver=result.solver if result else "",
        build_s=build_s,
        solve_s=solve_s,
        windows=len(starts),
    )
