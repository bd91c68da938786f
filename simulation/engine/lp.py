"""A sparse LP solved by HiGHS (highspy, numpy arrays) or through PuLP (HiGHS, else CBC).

    maximise cost . x   s.t.  row_lo <= A x <= row_hi,  col_lo <= x <= col_hi

PITFALLS.md: building with highspy from numpy arrays is an order of magnitude faster than
PuLP's Python objects; the PuLP path exists for machines without highspy (it uses CBC).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


class SolverError(Exception):
    """The solver did not prove optimality (infeasible, unbounded, time limit...)."""


@dataclass
class LpResult:
    x: np.ndarray
    status: str
    objective: float
    solve_s: float
    solver: str


def highspy_available() -> bool:
    try:
        import highspy  # noqa: F401
    except ImportError:
        return False
    return True


def solve(
    cost: np.ndarray,
    a: sp.csc_matrix,
    row_lo: np.ndarray,
    row_hi: np.ndarray,
    col_lo: np.ndarray,
    col_hi: np.ndarray,
    *,
    backend: str = "highspy",
    time_limit_s: float = 120.0,
) -> LpResult:
    if backend == "highspy" and highspy_available():
        return _solve_highspy(cost, a, row_lo, row_hi, col_lo, col_hi, time_limit_s)
    return _solve_pulp(cost, a, row_lo, row_hi, col_lo, col_hi, time_limit_s)


def _solve_highspy(cost, a, row_lo, row_hi, col_lo, col_hi, time_limit_s) -> LpResult:
    import highspy

    inf = highspy.kHighsInf
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("threads", 1)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = a.shape[1], a.shape[0]
    lp.col_cost_ = cost
    lp.col_lower_ = np.where(np.isfinite(col_lo), col_lo, -inf)
    lp.col_upper_ = np.where(np.isfinite(col_hi), col_hi, inf)
    lp.row_lower_ = np.where(np.isfinite(row_lo), row_lo, -inf)
    lp.row_upper_ = np.where(np.isfinite(row_hi), row_hi, inf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr
    lp.a_matrix_.index_ = a.indices
    lp.a_matrix_.value_ = a.data
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = a.shape[1], a.shape[0]
    lp.sense_ = highspy.ObjSense.kMaximize
    h.passModel(lp)
    started = time.perf_counter()
    h.run()
    elapsed = time.perf_counter() - started
    status = h.getModelStatus()
    label = h.modelStatusToString(status)
    if status != highspy.HighsModelStatus.kOptimal:
        raise SolverError(f"HiGHS: {label}")
    x = np.asarray(h.getSolution().col_value, dtype=float)
    return LpResult(x, label, float(h.getInfo().objective_function_value), elapsed, "highs (highspy)")


def _solve_pulp(cost, a, row_lo, row_hi, col_lo, col_hi, time_limit_s) -> LpResult:
    import pulp

    prob = pulp.LpProblem("dispatch", pulp.LpMaximize)
    xs = [
        pulp.LpVariable(
            f"x{j}",
            lowBound=float(col_lo[j]) if np.isfinite(col_lo[j]) else None,
            upBound=float(col_hi[j]) if np.isfinite(col_hi[j]) else None,
        )
        for j in range(a.shape[1])
    ]
    prob += pulp.LpAffineExpression([(xs[j], float(cost[j])) for j in np.flatnonzero(cost)])
    rows = a.tocsr()
    for i in range(rows.shape[0]):
        lo, hi = rows.indptr[i], rows.indptr[i + 1]
        expr = pulp.LpAffineExpression(
            [(xs[j], float(v)) for j, v in zip(rows.indices[lo:hi], rows.data[lo:hi], strict=True)]
        )
        if np.isfinite(row_lo[i]) and np.isfinite(row_hi[i]) and row_lo[i] == row_hi[i]:
            prob += expr == float(row_lo[i])
            continue
        if np.isfinite(row_lo[i]):
            prob += expr >= float(row_lo[i])
        if np.isfinite(row_hi[i]):
            prob += expr <= float(row_hi[i])
    available = pulp.listSolvers(onlyAvailable=True)
    if "HiGHS" in available:
        solver, name = pulp.HiGHS(msg=False, timeLimit=time_limit_s), "highs (pulp)"
    else:
        solver, name = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s), "cbc (pulp)"
    started = time.perf_counter()
    prob.solve(solver)
    elapsed = time.perf_counter() - started
    label = pulp.LpStatus[prob.status]
    if prob.status != pulp.LpStatusOptimal:
        raise SolverError(f"{name}: {label}")
    x = np.array([v.value() or 0.0 for v in xs])
    return LpResult(x, label, float(pulp.value(prob.objective) or 0.0), elapsed, name)
