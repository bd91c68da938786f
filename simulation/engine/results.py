"""From flows to the figures users read: totals, months, a typical day, economics, split."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from energy_rules import it_cacer as regime_mod
from simulation.engine import economics as eco
from simulation.engine.balance import Balance, balance, gse_allocation, objective_eur, plant_injection_kwh
from simulation.engine.dispatch import Dispatch

ENERGY_KEYS = (
    "consumption_kwh",
    "production_kwh",
    "self_consumption_kwh",
    "shared_kwh",
    "grid_import_kwh",
    "grid_export_kwh",
    "battery_charge_kwh",
    "battery_discharge_kwh",
    "battery_loss_kwh",
)
MONEY_KEYS = (
    "incentive_eur",
    "valorisation_eur",
    "export_revenue_eur",
    "import_cost_eur",
    "bill_savings_eur",
)


def _series(pr, b: Balance, d: Dispatch) -> dict[str, np.ndarray]:
    inp = pr.inp
    losses = np.zeros(len(inp.index))
    for k, bat in enumerate(inp.batteries):
        s = bat.spec
        losses += d.charge_kwh[k] * (1 - s.charge_efficiency) + d.discharge_kwh[k] * (
            1 / s.discharge_efficiency - 1
        )
    plant_inj = plant_injection_kwh(b, pr.plant_pv_kwh, pr.plant_member)
    order = sorted(
        range(len(inp.plants)),
        key=lambda p: (inp.plants[p].commissioned_on is None, inp.plants[p].commissioned_on or 0, p),
    )
    alloc = gse_allocation(b.shared_kwh, plant_inj, np.array(order, dtype=int))
    incentive = (alloc * pr.plant_tip).sum(axis=0) / 1000.0
    load = b.load_kwh.sum(axis=0)
    return {
        "consumption_kwh": load,
        "production_kwh": b.pv_kwh.sum(axis=0),
        "self_consumption_kwh": b.self_consumption_kwh.sum(axis=0),
        "shared_kwh": b.shared_kwh,
        "grid_import_kwh": b.withdrawal_kwh.sum(axis=0),
        "grid_export_kwh": b.injection_kwh.sum(axis=0),
        "battery_charge_kwh": d.charge_kwh.sum(axis=0),
        "battery_discharge_kwh": d.discharge_kwh.sum(axis=0),
        "battery_loss_kwh": losses,
        "battery_soc_kwh": d.soc_kwh.sum(axis=0),
        "incentive_eur": incentive,
        "valorisation_eur": b.shared_kwh * (pr.cu_af + inp.tariffs.shared_bonus_eur_per_mwh) / 1000.0,
        "export_revenue_eur": b.injection_kwh.sum(axis=0) * pr.sell,
        "import_cost_eur": b.withdrawal_kwh.sum(axis=0) * pr.buy,
        "bill_savings_eur": (load - b.withdrawal_kwh.sum(axis=0)) * pr.buy,
        "_alloc": alloc,
        "_plant_inj": plant_inj,
    }


def _totals(s: dict[str, np.ndarray], mask: np.ndarray | None = None) -> dict:
    pick = (lambda a: a[mask]) if mask is not None else (lambda a: a)
    out = {k: round(float(pick(s[k]).sum()), 3) for k in ENERGY_KEYS}
    cons = out["consumption_kwh"]
    out["self_sufficiency_pct"] = (
        round(100 * (out["self_consumption_kwh"] + out["shared_kwh"]) / cons, 2) if cons else 0.0
    )
    for k in MONEY_KEYS:
        out[k] = str(eco.to_money(float(pick(s[k]).sum())))
    return out


def _economics(pr, s, annual_factor: float) -> dict:
    inp, e = pr.inp, pr.inp.economics
    kwp = sum(p.kwp for p in inp.plants)
    kwh = sum(b.spec.capacity_kwh for b in inp.batteries)
    capex = (
        e.pv_capex_eur_per_kwp * Decimal(str(kwp))
        + e.battery_capex_eur_per_kwh * Decimal(str(kwh))
        + e.extra_capex_eur
    )
    opex = capex * e.opex_pct_of_capex / 100
    yearly = {
        k: float(s[k].sum()) * annual_factor
        for k in ("incentive_eur", "valorisation_eur", "export_revenue_eur", "bill_savings_eur")
    }
    tip_years = (
        int(inp.regime_params.get("tip_years", 20)) if inp.regime in regime_mod.INCENTIVE_REGIMES else 0
    )
    flows = []
    for year in range(1, e.lifetime_years + 1):
        cf = (
            yearly["valorisation_eur"]
            + yearly["export_revenue_eur"]
            + yearly["bill_savings_eur"]
            - float(opex)
        )
        if year <= tip_years:
            cf += yearly["incentive_eur"]
        flows.append(cf)
    rate = float(e.discount_rate_pct) / 100.0
    capex_f = float(capex)
    irr = eco.irr(capex_f, flows)
    payback = eco.simple_payback_years(capex_f, flows)
    cumulative, curve = (
        -capex_f,
        [
            {
                "year": 0,
                "cash_flow_eur": str(eco.to_money(-capex_f)),
                "cumulative_eur": str(eco.to_money(-capex_f)),
            }
        ],
    )
    for year, cf in enumerate(flows, start=1):
        cumulative += cf
        curve.append(
            {
                "year": year,
                "cash_flow_eur": str(eco.to_money(cf)),
                "cumulative_eur": str(eco.to_money(cumulative)),
            }
        )
    return {
        "capex_eur": str(eco.to_money(capex)),
        "opex_eur_per_year": str(eco.to_money(opex)),
        "annual_revenue_eur": {k: str(eco.to_money(v)) for k, v in yearly.items()},
        "npv_eur": str(eco.to_money(eco.npv(rate, capex_f, flows))),
        "irr_pct": round(irr * 100, 2) if irr is not None else None,
        "simple_payback_years": round(payback, 2) if payback is not None else None,
        "discount_rate_pct": str(e.discount_rate_pct),
        "lifetime_years": e.lifetime_years,
        "cash_flow": curve,
    }


def _split(pr, b: Balance, s) -> dict:
    """Statute split of the community's revenue (incentive + valorisation), largest remainder."""
    inp, st = pr.inp, pr.inp.statute
    incentive_exact = float(s["incentive_eur"].sum())
    revenue = eco.to_money(incentive_exact + float(s["valorisation_eur"].sum()))
    excess = Decimal("0.00")
    if inp.regime in regime_mod.INCENTIVE_REGIMES and len(inp.plants):
        alloc = s["_alloc"]
        excess = eco.to_money(
            regime_mod.excess_premium_eur(
                inp.regime_params,
                incentivised_kwh=alloc.sum(axis=1),
                injected_kwh=s["_plant_inj"].sum(axis=1),
                tip_eur=(alloc * pr.plant_tip).sum(axis=1) / 1000.0,
                with_grant=np.array([p.capital_grant_pct > 0 for p in inp.plants]),
            )
        )
    distributable = revenue - excess
    producers, consumers, fund = eco.largest_remainder(
        distributable, [st.producers_pct, st.consumers_pct, st.fund_pct]
    )
    n_m = len(inp.members)
    produced = np.zeros(n_m)
    np.add.at(produced, pr.plant_member, s["_alloc"].sum(axis=1)) if len(pr.plant_member) else None
    wd = b.withdrawal_kwh
    wd_total = wd.sum(axis=0)
    consumer_w = (
        wd * np.divide(b.shared_kwh, wd_total, out=np.zeros_like(wd_total), where=wd_total > 0)
    ).sum(axis=1)
    to_producers = eco.largest_remainder(producers, list(produced))
    to_consumers = eco.largest_remainder(consumers, list(consumer_w))
    non_business = [w if not m.business else 0.0 for w, m in zip(consumer_w, inp.members, strict=True)]
    to_excess = eco.largest_remainder(excess, non_business)
    members = []
    for i, m in enumerate(inp.members):
        total = to_producers[i] + to_consumers[i] + to_excess[i]
        members.append(
            {
                "key": m.key,
                "name": m.name,
                "producer_eur": str(to_producers[i]),
                "consumer_eur": str(to_consumers[i] + to_excess[i]),
                "total_eur": str(total),
            }
        )
    return {
        "revenue_eur": str(revenue),
        "producers_eur": str(producers),
        "consumers_eur": str(consumers),
        "fund_eur": str(fund),
        "excess_premium_eur": str(excess),
        "statute_pct": {
            "producers": str(st.producers_pct),
            "consumers": str(st.consumers_pct),
            "fund": str(st.fund_pct),
        },
        "members": members,
    }


def build_results(pr, base: Dispatch, opt: Dispatch) -> tuple[dict, pd.DataFrame]:
    inp = pr.inp
    b_opt = balance(pr.load_kwh, pr.pv_kwh, opt, pr.battery_member)
    b_base = balance(pr.load_kwh, pr.pv_kwh, base, pr.battery_member)
    s_opt, s_base = _series(pr, b_opt, opt), _series(pr, b_base, base)
    local = inp.index.tz_convert(inp.time_zone)
    months = local.strftime("%Y-%m")
    hours_total = len(inp.index) * inp.dt_h
    annual_factor = 8760.0 / hours_total if hours_total else 0.0
    obj = {
        "optimal": objective_eur(
            b_opt, sell_eur_per_kwh=pr.sell, buy_eur_per_kwh=pr.buy, rate_eur_per_kwh=pr.rate
        ),
        "baseline": objective_eur(
            b_base, sell_eur_per_kwh=pr.sell, buy_eur_per_kwh=pr.buy, rate_eur_per_kwh=pr.rate
        ),
    }
    total_opt, total_base = _totals(s_opt), _totals(s_base)
    for tot in (total_opt, total_base):
        tot["co2_avoided_kg"] = round(tot["production_kwh"] * inp.co2_kg_per_kwh, 1)
    total_opt["objective_eur"] = str(eco.to_money(obj["optimal"]))
    total_base["objective_eur"] = str(eco.to_money(obj["baseline"]))
    diff = {}
    for k, v in total_opt.items():
        if isinstance(v, str):
            diff[k] = str(Decimal(v) - Decimal(total_base[k]))
        else:
            diff[k] = round(v - total_base[k], 3)
    monthly = []
    for month in sorted(set(months)):
        mask = months == month
        row = {"month": month, **_totals(s_opt, mask)}
        row["shared_kwh_baseline"] = round(float(s_base["shared_kwh"][mask].sum()), 3)
        monthly.append(row)
    hours = local.hour.to_numpy()
    typical = []
    for h in range(24):
        mask = hours == h
        if not mask.any():
            continue
        typical.append(
            {
                "hour": h,
                **{
                    k: round(float(s_opt[k][mask].mean()) / inp.dt_h, 3)
                    for k in ("consumption_kwh", "production_kwh", "shared_kwh", "grid_import_kwh")
                },
                "battery_soc_kwh": round(float(s_opt["battery_soc_kwh"][mask].mean()), 3),
            }
        )
    sample = slice(0, min(len(inp.index), round(7 * 24 / inp.dt_h)))
    soc_sample = {
        "t": [ts.isoformat() for ts in local[sample]],
        "optimal_kwh": [round(float(v), 3) for v in s_opt["battery_soc_kwh"][sample]],
        "baseline_kwh": [round(float(v), 3) for v in s_base["battery_soc_kwh"][sample]],
    }
    summary = {
        "soc_first_week": soc_sample,
        "period": {
            "start": inp.index[0].isoformat(),
            "end": (inp.index[-1] + pd.Timedelta(hours=inp.dt_h)).isoformat(),
            "intervals": len(inp.index),
            "interval_minutes": round(inp.dt_h * 60),
            "time_zone": inp.time_zone,
            "annualisation_factor": round(annual_factor, 6),
        },
        "participants": {
            "members": len(inp.members),
            "plants": len(inp.plants),
            "batteries": len(inp.batteries),
            "pv_kwp": round(sum(p.kwp for p in inp.plants), 3),
            "battery_kwh": round(sum(b.spec.capacity_kwh for b in inp.batteries), 3),
        },
        "regime": inp.regime,
        "total": total_opt,
        "baseline": total_base,
        "difference": diff,
        "monthly": monthly,
        "typical_day": typical,
        "economics": _economics(pr, s_opt, annual_factor),
        "economics_baseline": _economics(pr, s_base, annual_factor),
        "split": _split(pr, b_opt, s_opt),
    }
    frame = pd.DataFrame({k: v for k, v in s_opt.items() if not k.startswith("_")}, index=inp.index)
    frame["zonal_price_eur_per_mwh"] = pr.zonal
    frame["buy_price_eur_per_kwh"] = pr.buy
    for k in ("shared_kwh", "grid_import_kwh", "grid_export_kwh", "battery_soc_kwh"):
        frame[f"{k}_baseline"] = s_base[k]
    frame.index.name = "interval_start"
    return summary, frame
