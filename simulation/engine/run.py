"""Run one simulation: profiles -> prices -> baseline -> optimal LP -> results.

``report(percent, stage, message)`` is called between stages and LP windows; it may raise
to cancel the run (the service raises RunCancelled when the user asked for it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from energy_rules import it_cacer as regime_mod
from simulation.engine import prices as price_mod
from simulation.engine.balance import balance, gse_allocation, objective_eur, plant_injection_kwh
from simulation.engine.dispatch import Dispatch, DispatchProblem, baseline_dispatch, optimal_dispatch
from simulation.engine.inputs import SimulationInput
from simulation.engine.results import build_results
from simulation.physics import load_kw, pv_power_from_weather, site_weather

Reporter = Callable[[float, str, str], None]


@dataclass
class Prepared:
    inp: SimulationInput
    load_kwh: np.ndarray
    pv_kwh: np.ndarray  # per member
    plant_pv_kwh: np.ndarray
    plant_member: np.ndarray
    battery_member: np.ndarray
    zonal: np.ndarray
    buy: np.ndarray
    sell: np.ndarray
    rate: np.ndarray
    plant_tip: np.ndarray  # (P, T) EUR/MWh
    cu_af: np.ndarray  # (T,) EUR/MWh: the valorisation of self-consumed energy


@dataclass
class SimulationOutput:
    summary: dict
    intervals: pd.DataFrame
    baseline: Dispatch
    optimal: Dispatch
    prepared: Prepared


def _profiles(inp: SimulationInput) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dt = inp.dt_h
    n_t = len(inp.index)
    loads = np.zeros((len(inp.members), n_t))
    for i, m in enumerate(inp.members):
        if m.curve_kwh is not None:
            loads[i] = np.asarray(m.curve_kwh, dtype=float)
        else:
            loads[i] = (
                load_kw(
                    profile=m.profile,
                    annual_kwh=m.annual_kwh,
                    index=inp.index,
                    seed=inp.seed * 1000 + i,
                    time_zone=inp.time_zone,
                    country=inp.country,
                ).to_numpy()
                * dt
            )
    plant_pv = np.zeros((len(inp.plants), n_t))
    sites: dict[tuple[float, float], list[int]] = {}
    for p, plant in enumerate(inp.plants):
        sites.setdefault((round(plant.lat, 3), round(plant.lon, 3)), []).append(p)
    for (lat, lon), rows in sites.items():  # solar position once per site (PITFALLS.md)
        weather = site_weather(lat=lat, lon=lon, index=inp.index, seed=inp.seed)
        for p in rows:
            pl = inp.plants[p]
            plant_pv[p] = (
                pv_power_from_weather(
                    weather,
                    kwp=pl.kwp,
                    tilt_deg=pl.tilt_deg,
                    azimuth_deg=pl.azimuth_deg,
                    losses_pct=pl.losses_pct,
                    inverter_kw=pl.inverter_kw,
                ).to_numpy()
                * dt
            )
    keys = {m.key: i for i, m in enumerate(inp.members)}
    plant_member = np.array([keys[p.member_key] for p in inp.plants], dtype=int)
    return loads, plant_pv, plant_member


def prepare(inp: SimulationInput) -> Prepared:
    loads, plant_pv, plant_member = _profiles(inp)
    pv = np.zeros_like(loads)
    if len(plant_member):
        np.add.at(pv, plant_member, plant_pv)
    keys = {m.key: i for i, m in enumerate(inp.members)}
    battery_member = np.array([keys[b.member_key] for b in inp.batteries], dtype=int)
    t = inp.tariffs
    zonal = (
        np.asarray(t.zonal_price_eur_per_mwh, dtype=float)
        if t.zonal_price_eur_per_mwh is not None
        else price_mod.synthetic_zonal_price(
            inp.index, time_zone=inp.time_zone, seed=inp.seed, mean_eur_per_mwh=t.zonal_mean_eur_per_mwh
        )
    )
    bands = price_mod.tou_band(inp.index, time_zone=inp.time_zone, country=inp.country)
    buy = price_mod.buy_price_eur_per_kwh(bands, t.buy_eur_per_kwh)
    sell = (
        np.full(len(inp.index), t.export_price_eur_per_mwh / 1000.0)
        if t.export_price_eur_per_mwh is not None
        else zonal / 1000.0
    )
    params = inp.regime_params
    plant_tip = np.zeros((len(inp.plants), len(inp.index)))
    cu_af = np.zeros(len(inp.index))
    if inp.regime in regime_mod.INCENTIVE_REGIMES:
        cu_af = regime_mod.valorisation_eur_per_mwh(params, regime=inp.regime, zonal_eur_per_mwh=zonal)
        for p, pl in enumerate(inp.plants):
            plant_tip[p] = regime_mod.tip_eur_per_mwh(
                params,
                power_kw=pl.power_kw,
                zonal_eur_per_mwh=zonal,
                geo_zone=pl.geo_zone,
                capital_grant_pct=pl.capital_grant_pct,
            )
    # The LP values a shared kWh at the TIP of the plants weighted by their idle-battery
    # injection (exact when all plants share a band; results use the exact GSE allocation).
    net0 = pv - loads
    inj0 = np.maximum(net0, 0.0)
    if len(inp.plants):
        share = np.divide(plant_pv, pv[plant_member], out=np.zeros_like(plant_pv), where=pv[plant_member] > 0)
        weights = share * inj0[plant_member]
        wsum = weights.sum(axis=0)
        cap_w = np.array([pl.kwp for pl in inp.plants])[:, None] * np.ones_like(plant_tip)
        weights = np.where(wsum > 0, weights, cap_w)
        tip_avg = (weights * plant_tip).sum(axis=0) / weights.sum(axis=0)
    else:
        tip_avg = np.zeros(len(inp.index))
    rate = (tip_avg + cu_af + t.shared_bonus_eur_per_mwh) / 1000.0
    return Prepared(
        inp, loads, pv, plant_pv, plant_member, battery_member, zonal, buy, sell, rate, plant_tip, cu_af
    )


def dispatch_problem(pr: Prepared) -> DispatchProblem:
    meters = np.unique(pr.battery_member)
    row_of = {m: i for i, m in enumerate(meters)}
    net0 = pr.pv_kwh - pr.load_kwh
    return DispatchProblem(
        dt_h=pr.inp.dt_h,
        surplus_kwh=net0[meters] if len(meters) else np.zeros((0, len(pr.inp.index))),
        battery_meter=np.array([row_of[m] for m in pr.battery_member], dtype=int),
        specs=[b.spec for b in pr.inp.batteries],
        inj0_kwh=np.maximum(net0, 0.0).sum(axis=0),
        wd0_kwh=np.maximum(-net0, 0.0).sum(axis=0),
        sell_eur_per_kwh=pr.sell,
        buy_eur_per_kwh=pr.buy,
        rate_eur_per_kwh=pr.rate,
    )


def simulate(
    inp: SimulationInput, *, report: Reporter | None = None, backend: str = "highspy"
) -> SimulationOutput:
    say = report or (lambda pct, stage, msg: None)
    timings: dict[str, float] = {}
    began = time.perf_counter()
    say(2, "profiles", f"Loads and PV for {len(inp.members)} members, {len(inp.plants)} plants")
    pr = prepare(inp)
    timings["profiles_s"] = time.perf_counter() - began
    problem = dispatch_problem(pr)
    say(20, "baseline", "Rule-based battery dispatch")
    t0 = time.perf_counter()
    base = baseline_dispatch(problem)
    timings["baseline_s"] = time.perf_counter() - t0
    window_steps = max(1, round(inp.window_days * 24 / inp.dt_h))

    def on_window(k: int, total: int) -> None:
        say(25 + 60 * k / max(total, 1), "optimal", f"LP window {k + 1} of {total}")

    t0 = time.perf_counter()
    opt = optimal_dispatch(
        problem,
        base,
        window_steps=window_steps,
        backend=backend,
        time_limit_s=inp.time_limit_s,
        on_window=on_window,
    )
    timings["optimal_s"] = time.perf_counter() - t0
    timings["lp_build_s"], timings["lp_solve_s"] = opt.build_s, opt.solve_s
    say(88, "results", "Energy balance, incentives and economics")
    t0 = time.perf_counter()
    summary, intervals = build_results(pr, base, opt)
    timings["results_s"] = time.perf_counter() - t0
    timings["total_s"] = time.perf_counter() - began
    summary["timings"] = {k: round(v, 3) for k, v in timings.items()}
    summary["solver"] = {
        "status": opt.solver_status,
        "name": opt.solver,
        "windows": opt.windows,
        "window_steps": window_steps,
    }
    return SimulationOutput(summary, intervals, base, opt, pr)


__all__ = [
    "SimulationOutput",
    "balance",
    "gse_allocation",
    "objective_eur",
    "plant_injection_kwh",
    "simulate",
]
