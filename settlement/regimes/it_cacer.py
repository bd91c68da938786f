"""Italian CER and AUC settlement (DOMAIN.md, "Italy: CER / CACER"; GSE Regole Operative
CACER 2024). Every formula comes from `energy_rules.it_cacer`, the one implementation the
simulation uses too; this module only applies them to metered energy and prints lines.

Per hour h (kWh):
- shared (EAC) = min(injection of the plants, withdrawal of the members) in the market zone;
- self-consumed (EACV) = the same within the primary substation: valorisation is paid on it;
- both are assigned to plants oldest first, each up to its own injection (`gse_allocation`);
- incentivised (EACI) = the self-consumed energy assigned to plants from 15 Dec 2021 on.

Money per plant (exact, rounded once per printed line): TIP = sum_h EACI x TIP_h / 1000,
with the capital-grant factor F lifted on the part of the hour's energy attributed to
exempt withdrawal points; valorisation = sum_h EACV x rate_h / 1000. The month's total
(GSE's advance) is split by the statute: producers pro rata to their plants' incentivised
energy (investors take their shares of a plant's part), consumers pro rata to their
withdrawal in each hour's shared energy, the rest to the fund. In the run that closes the
year (December) the yearly excess premium per set of plants is reserved first, for
non-business consumers only; what December's advance cannot cover is carried into the
yearly true-up (`totals["excess_carried_eur"]`).
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, localcontext

import numpy as np

from energy_rules import it_cacer as rules
from settlement.regimes import register
from settlement.regimes.base import LineSpec, RegimeResult, SettlementInputs, cents
from settlement.split import largest_remainder, to_decimal

TIP_START = date(2021, 12, 15)  # DM 414/2023: plants in operation before earn no TIP


class RegimeInputError(ValueError):
    """Inputs the rules cannot settle (a plant outside Italy, a missing region)."""


def _plant_order(inputs: SettlementInputs, eligible: np.ndarray, params: dict | None = None) -> np.ndarray:
    """Oldest first (commissioning date, then id); pre-2021 plants first or after the others
    as the parameter `pre2021_plants_first` says (unverified rule, DOMAIN.md) in `params`
    (the version in force over the hours at hand; default the run's)."""
    first = bool((inputs.params if params is None else params).get("pre2021_plants_first", True))

    def key(i):
        plant = inputs.plants[i]
        group = 0 if (not eligible[i]) == first else 1
        return (group, plant.commissioned_on or date.max, plant.id)

    return np.array(sorted(range(len(inputs.plants)), key=key), dtype=int)


def _plant_injection(inputs: SettlementInputs, inj: np.ndarray) -> np.ndarray:
    """(P, T): each plant's injection; plants on one metering point share it pro rata to power."""
    n_plants = len(inputs.plants)
    out = np.zeros((n_plants, inputs.n_intervals))
    if not n_plants:
        return out
    rows = np.array([p.point_index for p in inputs.plants], dtype=int)
    power = np.array([max(p.power_kw, 0.0) for p in inputs.plants])
    per_point = np.bincount(rows, weights=power, minlength=inputs.n_points)
    share = np.divide(power, per_point[rows], out=np.ones(n_plants), where=per_point[rows] > 0)
    counts = np.bincount(rows, minlength=inputs.n_points)
    share = np.where(per_point[rows] > 0, share, 1.0 / counts[rows])
    return inj[rows] * share[:, None]


def _masks(inputs: SettlementInputs) -> tuple[np.ndarray, np.ndarray]:
    zone = np.array([p.market_zone in ("", inputs.community_market_zone) for p in inputs.points], dtype=bool)
    sub = np.array(
        [p.primary_substation in ("", inputs.community_substation) for p in inputs.points], dtype=bool
    )
    return zone.reshape(-1), sub.reshape(-1)


def _geo_zone(params: dict, plant) -> str:
    if not plant.technology.startswith("pv"):
        return "none"  # FC_zonale applies to PV only
    if not plant.region:
        raise RegimeInputError(f"plant {plant.id}: no Italian region (location outside Italy?)")
    try:
        return rules.geo_zone_of_region(params, plant.region)
    except ValueError as exc:
        raise RegimeInputError(f"plant {plant.id}: {exc}") from None


def energies(inputs: SettlementInputs) -> dict:
    """The hourly energies of the rules (pure numpy): shared, self-consumed, incentivised,
    their assignment to plants, and each point's attribution of the shared energy."""
    wd = np.nan_to_num(inputs.withdrawal_kwh, nan=0.0).clip(min=0.0)
    inj = np.nan_to_num(inputs.injection_kwh, nan=0.0).clip(min=0.0)
    zone, sub = _masks(inputs)
    plant_inj = _plant_injection(inputs, inj)
    plant_rows = np.array([p.point_index for p in inputs.plants], dtype=int)
    plant_zone = zone[plant_rows] if len(plant_rows) else np.zeros(0, dtype=bool)
    plant_sub = sub[plant_rows] if len(plant_rows) else np.zeros(0, dtype=bool)
    eligible = np.array(
        [p.commissioned_on is not None and p.commissioned_on >= TIP_START for p in inputs.plants], dtype=bool
    )
    wd_zone = wd[zone].sum(axis=0)
    wd_sub = wd[sub].sum(axis=0)
    shared = np.minimum(plant_inj[plant_zone].sum(axis=0), wd_zone)
    self_consumed = np.minimum(plant_inj[plant_sub].sum(axis=0), wd_sub)
    plant_shared, plant_self = np.zeros_like(plant_inj), np.zeros_like(plant_inj)
    for seg in inputs.parameter_segments():
        # the assignment order is a parameter: each version's over its own hours
        order, sl = _plant_order(inputs, eligible, seg.params), slice(seg.start, seg.stop)
        in_zone, in_sub = plant_inj[:, sl] * plant_zone[:, None], plant_inj[:, sl] * plant_sub[:, None]
        plant_shared[:, sl] = rules.gse_allocation(shared[sl], in_zone, order)
        plant_self[:, sl] = rules.gse_allocation(self_consumed[sl], in_sub, order)
    plant_incentivised = plant_self * eligible[:, None]

    # each withdrawal point's part of the hour's shared energy, pro rata to its withdrawal
    ratio = np.divide(shared, wd_zone, out=np.zeros_like(shared), where=wd_zone > 0)
    allocated = wd * zone[:, None] * ratio
    exempt = np.array([p.grant_exempt for p in inputs.points], dtype=bool)
    exempt_share = np.divide(
        wd[sub & exempt].sum(axis=0), wd_sub, out=np.zeros_like(wd_sub), where=wd_sub > 0
    )
    return {
        "withdrawal": wd,
        "injection": inj,
        "plant_injection": plant_inj,
        "eligible": eligible,
        "shared": shared,
        "self_consumed": self_consumed,
        "plant_shared": plant_shared,
        "plant_self": plant_self,
        "plant_incentivised": plant_incentivised,
        "allocated": allocated,
        "exempt_share": exempt_share,
    }


def _figures(*values) -> str:
    """A comparable fingerprint of the figures a rate comes from: parameter versions with
    the same figures for a plant print one line, naming them all."""
    return json.dumps(values, sort_keys=True, default=str)


def _plant_parts(inputs: SettlementInputs, e: dict, i: int, plant) -> tuple[list, np.ndarray, np.ndarray]:
    """Per parameter version segment: one plant's exact TIP and valorisation (float EUR) over
    the segment's hours with the figures of the version in force (issue 10), plus the hourly
    TIP and valorisation (EUR x 1000) over the whole period."""
    inc_all, self_all = e["plant_incentivised"][i], e["plant_self"][i]
    tip_h, val_h = np.zeros_like(inc_all), np.zeros_like(inc_all)
    zonal = np.asarray(inputs.zonal_eur_per_mwh, dtype=float)
    parts = []
    for seg in inputs.parameter_segments():
        p, sl = seg.params, slice(seg.start, seg.stop)
        ref = float(p.get("tip_pz_reference_eur_per_mwh", 180))
        pz = np.nan_to_num(zonal[sl], nan=ref)
        inc, geo = inc_all[sl], None
        if e["eligible"][i] and inc.any():
            geo = _geo_zone(p, plant)
            kw = {"power_kw": plant.power_kw, "zonal_eur_per_mwh": pz, "geo_zone": geo}
            full = rules.tip_eur_per_mwh(p, capital_grant_pct=plant.grant_pct, **kw)
            no_grant = rules.tip_eur_per_mwh(p, capital_grant_pct=0.0, **kw)
            rate = e["exempt_share"][sl] * no_grant + (1.0 - e["exempt_share"][sl]) * full
            tip_h[sl] = inc * rate
        val_rate = rules.valorisation_eur_per_mwh(
            p, regime=inputs.regime, zonal_eur_per_mwh=pz, voltage=plant.voltage,
            in_building=plant.in_building,
        )
        val_h[sl] = self_all[sl] * val_rate
        band = rules.tip_band(p, plant.power_kw)
        auc = inputs.regime == "it_auc" and plant.in_building
        parts.append(
            {
                "segment": seg,
                "tip_eur": float(tip_h[sl].sum()) / 1000.0,
                "valorisation_eur": float(val_h[sl].sum()) / 1000.0,
                "incentivised_kwh": float(inc.sum()),
                "self_consumed_kwh": float(self_all[sl].sum()),
                "shared_kwh": float(e["plant_shared"][i, sl].sum()),
                "injected_kwh": float(e["plant_injection"][i, sl].sum()),
                "geo_zone": geo,
                "band_max_kw": band["max_kw"],
                # the geographic figures whole: a plant without TIP hours in a version
                # still compares equal to a version with the same figures
                "tip_figures": _figures(
                    band, p.get("tip_pz_reference_eur_per_mwh", 180), p.get("geo_correction_eur_per_mwh"),
                    p.get("geo_regions"), rules.grant_factor(p, plant.grant_pct),
                ),
                "valorisation_figures": _figures(
                    p.get("cu_af_eur_per_mwh"), p.get("avoided_losses_cpr") if auc else None
                ),
            }
        )
    return parts, tip_h, val_h


def _plant_money(inputs: SettlementInputs, e: dict) -> list[dict]:
    """Per plant: exact TIP and valorisation (float EUR) with the figures that made them, and
    their parts per parameter version (`parts`)."""
    out = []
    for i, plant in enumerate(inputs.plants):
        parts, tip_h, val_h = _plant_parts(inputs, e, i, plant)
        inc = e["plant_incentivised"][i]
        out.append(
            {
                "plant": plant,
                "tip_eur": float(tip_h.sum()) / 1000.0,
                "valorisation_eur": float(val_h.sum()) / 1000.0,
                "geo_zone": next((p["geo_zone"] for p in parts if p["geo_zone"]), None),
                "band_max_kw": parts[-1]["band_max_kw"],
                "eligible": bool(e["eligible"][i]),
                "incentivised_kwh": float(inc.sum()),
                "self_consumed_kwh": float(e["plant_self"][i].sum()),
                "shared_kwh": float(e["plant_shared"][i].sum()),
                "injected_kwh": float(e["plant_injection"][i].sum()),
                "with_grant": plant.grant_pct > 0,
                # EUR x 1000 per hour: what each statute segment earned (`_segment_parts`)
                "money_h": tip_h + val_h,
                "parts": parts,
                "index": i,
            }
        )
    return out


def _excess(inputs: SettlementInputs, money: list[dict]) -> list[dict]:
    """The yearly excess premium per set of plants (DOMAIN.md): only in the run that closes
    the year, over the year's months (`year_to_date["plants"]`, earlier months) plus this one."""
    ytd = inputs.year_to_date.get("plants", {})
    # the thresholds of the version in force at the year's close (31 Dec local: the period's
    # last interval), our reading where DOMAIN.md is silent
    close = inputs.parameter_segments()[-1]
    rows = []
    for m in money:
        prev = ytd.get(str(m["plant"].id), {})
        rows.append(
            (
                m["incentivised_kwh"] + float(prev.get("incentivised_kwh", 0.0)),
                m["injected_kwh"] + float(prev.get("injected_kwh", 0.0)),
                m["tip_eur"] + float(prev.get("tip_eur", 0.0)),
                m["with_grant"],
            )
        )
    sets = []
    for with_grant in (False, True):
        chosen = [r for r in rows if r[3] == with_grant and r[2] > 0]
        if not chosen:
            continue
        inc, inj, tip, grant = (np.array(c) for c in zip(*chosen, strict=True))
        eur = rules.excess_premium_eur(
            close.params, incentivised_kwh=inc, injected_kwh=inj, tip_eur=tip, with_grant=grant
        )
        sets.append(
            {
                "set": "tip_with_grant" if with_grant else "tip_only",
                "parameter_version": close.version,
                "threshold": rules.excess_threshold(close.params, any_grant=with_grant),
                "incentivised_kwh": float(inc.sum()),
                "injected_kwh": float(inj.sum()),
                "ratio": float(inc.sum() / inj.sum()) if inj.sum() > 0 else 0.0,
                "tip_eur": float(tip.sum()),
                "excess_eur": eur,
            }
        )
    return sets


def _by_membership(inputs: SettlementInputs, per_point: np.ndarray) -> dict[int, float]:
    out: dict[int, float] = {}
    for point, value in zip(inputs.points, per_point, strict=True):
        out[point.membership_id] = out.get(point.membership_id, 0.0) + float(value)
    return out


def _groups(parts: list[dict], figures: str) -> list[list[dict]]:
    """A plant's version parts grouped by the figures they applied (first use first): one
    printed line per group, from its parts' unrounded sum, rounded once."""
    out: dict[str, list[dict]] = {}
    for part in parts:
        out.setdefault(part[figures], []).append(part)
    return list(out.values())


def _plant_lines(inputs: SettlementInputs, m: dict, kind: str, kwh_key: str, several: bool) -> list[LineSpec]:
    """The plant's `tip` or `valorisation` lines: one per group of parameter versions with
    the same figures, rule `<regime>.<kind>@<versions>`; with several versions in the month
    `detail["parameter_segments"]` lists the versions, their hours and exact parts."""
    plant, eur_key = m["plant"], f"{kind}_eur"
    lines = []
    for group in _groups(m["parts"], f"{kind}_figures"):
        versions = "+".join(dict.fromkeys(p["segment"].version for p in group))
        detail = {k: sum(p[k] for p in group) for k in ("incentivised_kwh", "self_consumed_kwh", "shared_kwh",
                                                         "injected_kwh")}
        detail |= {"geo_zone": next((p["geo_zone"] for p in group if p["geo_zone"]), None),
                   "band_max_kw": group[-1]["band_max_kw"], "eligible": m["eligible"],
                   "grant_pct": plant.grant_pct}
        if len(group) == 1:
            exact, detail[eur_key] = to_decimal(group[0][eur_key]), repr(group[0][eur_key])
        else:
            exact = sum((to_decimal(p[eur_key]) for p in group), Decimal(0))
            detail[eur_key] = str(exact)
        if several:
            detail["parameter_segments"] = [
                {**p["segment"].detail(), eur_key: repr(p[eur_key]), kwh_key: p[kwh_key]} for p in group
            ]
        lines.append(LineSpec(None, plant.id, kind, f"{inputs.regime}.{kind}@{versions}", detail[kwh_key],
                              cents(exact), detail))
    return lines


def settle(inputs: SettlementInputs) -> RegimeResult:
    """The month's lines. Parameters per hour (issue 10): each hour takes the version in
    force; a plant's TIP and valorisation print one line per version with other figures;
    the month-wide lines (advance, shares, fund) name every version used (`2024+2025`); the
    excess premium the version at the close."""
    regime = inputs.regime
    several = len(inputs.parameter_segments()) > 1

    def rule(name: str, version: str | None = None) -> str:
        return f"{regime}.{name}@{version or inputs.version_label()}"

    e = energies(inputs)
    money = _plant_money(inputs, e)
    lines: list[LineSpec] = []
    for m in money:
        if m["eligible"]:
            lines += _plant_lines(inputs, m, "tip", "incentivised_kwh", several)
        lines += _plant_lines(inputs, m, "valorisation", "self_consumed_kwh", several)

    pool_exact = sum(to_decimal(m["tip_eur"]) + to_decimal(m["valorisation_eur"]) for m in money)
    pool = cents(pool_exact)
    lines.append(
        LineSpec(
            None,
            None,
            "gse_advance",
            rule("gse_advance"),
            float(e["self_consumed"].sum()),
            pool,
            {"exact_eur": str(pool_exact)}
            | ({"parameter_segments": [s.detail() for s in inputs.parameter_segments()]} if several else {}),
        )
    )

    consumer_kwh = _by_membership(inputs, e["allocated"].sum(axis=1))
    excess_total = excess_carried = Decimal("0.00")
    excess_sets = _excess(inputs, money) if inputs.closes_year else []
    if excess_sets:
        excess_exact = sum((to_decimal(s["excess_eur"]) for s in excess_sets), Decimal(0))
        for s in excess_sets:
            lines.append(
                LineSpec(
                    None,
                    None,
                    "excess_premium",
                    rule(f"excess_premium.{s['set']}", s["parameter_version"]),
                    s["incentivised_kwh"],
                    cents(s["excess_eur"]),
                    {**s, "excess_eur": repr(s["excess_eur"])},
                )
            )
        # December's advance may be smaller than the year's excess: it pays what it can and
        # the rest is carried into GSE's yearly true-up, which reserves it for the same
        # non-business consumers before its statute split (settlement.trueup)
        excess_total = min(cents(excess_exact), pool)
        excess_carried = cents(excess_exact) - excess_total
        close = inputs.parameter_segments()[-1].version
        lines += _excess_shares(inputs, excess_total, consumer_kwh, rule("excess_share", close))

    lines += _statute_split(inputs, pool - excess_total, money, e, rule)
    totals = {
        "shared_kwh": float(e["shared"].sum()),
        "self_consumed_kwh": float(e["self_consumed"].sum()),
        "incentivised_kwh": float(e["plant_incentivised"].sum()),
        "withdrawal_kwh": float(e["withdrawal"].sum()),
        "injection_kwh": float(e["injection"].sum()),
        "pool_eur": str(pool),
        "excess_reserved_eur": str(excess_total),
        "excess_carried_eur": str(excess_carried),
        "excess_sets": excess_sets,
        "plants": {
            str(m["plant"].id): {k: m[k] for k in ("incentivised_kwh", "injected_kwh", "tip_eur")}
            for m in money
        },
        "consumers": {str(k): v for k, v in consumer_kwh.items()},
    }
    return RegimeResult(
        shared_kwh=e["shared"],
        allocated_kwh=e["allocated"],
        lines=lines,
        totals=totals,
        series={
            "self_consumed_kwh": e["self_consumed"],
            "incentivised_kwh": e["plant_incentivised"].sum(axis=0),
            "plant_shared_kwh": e["plant_shared"],
            "plant_incentivised_kwh": e["plant_incentivised"],
        },
    )


def _excess_shares(inputs, total: Decimal, consumer_kwh: dict, rule_id: str) -> list[LineSpec]:
    """The excess premium goes only to non-business consumers, pro rata to their part of the
    year's shared energy (this month plus `year_to_date["consumers"]`)."""
    business = {p.membership_id for p in inputs.points if p.is_business}
    ytd = inputs.year_to_date.get("consumers", {})
    ids = sorted(set(consumer_kwh) | {int(k) for k in ytd})
    ids = [m for m in ids if m not in business]
    weights = [consumer_kwh.get(m, 0.0) + float(ytd.get(str(m), 0.0)) for m in ids]
    if total and not any(w > 0 for w in weights):
        # nobody eligible consumed: the excess goes to social purposes, kept in the fund
        # as its own line (the referent accounts for it separately, Appendix B section 4)
        return [
            LineSpec(
                None,
                None,
                "excess_share",
                rule_id,
                0.0,
                total,
                {"to": "fund", "reason": "no eligible consumer"},
            )
        ]
    amounts = largest_remainder(total, weights)
    return [
        LineSpec(m, None, "excess_share", rule_id, w, a, {"weight_kwh": w})
        for m, w, a in zip(ids, weights, amounts, strict=True)
        if a
    ]


def _segment_parts(inputs, total: Decimal, money: list[dict]) -> list[Decimal]:
    """`total` (the month's money to split, in cents) apportioned to the statute segments pro
    rata to what the plants earned (TIP + valorisation) in each segment's hours, unrounded:
    the money of an hour is split by the statute in force in that hour."""
    segments = inputs.segments()
    if len(segments) == 1:
        return [total]
    earned = [
        sum((to_decimal(float(m["money_h"][seg.start:seg.stop].sum()) / 1000.0) for m in money), Decimal(0))
        for seg in segments
    ]
    whole = sum(earned, Decimal(0))
    if whole <= 0:
        return [total] + [Decimal(0)] * (len(segments) - 1)
    with localcontext() as ctx:
        ctx.prec = 50
        return [total * part / whole for part in earned]


def _statute_split(inputs, total: Decimal, money: list[dict], e: dict, rule) -> list[LineSpec]:
    """Producers / consumers / fund by the statute's percentages, one largest-remainder split
    over every recipient so the lines add up to `total` exactly. A side without any weight
    (no incentivised energy, no consumer) leaves its part to the fund.

    With a statute per interval (a configuration changing within the month) each segment's
    part of the money (`_segment_parts`) is split by its own statute over the energy of its
    own hours; a recipient's unrounded parts add up, and the one split rounds each line once.
    Each line's `detail["segments"]` names the configurations its amount came from."""
    hundred = Decimal(100)
    producers: dict[tuple, dict] = {}  # (membership_id, plant_id, user_id) -> {segment: kWh}
    consumers: dict[int, dict] = {}  # membership_id -> {segment: kWh}
    exact: dict[tuple, Decimal] = {}
    per_segment: dict[tuple, list] = {}
    segments = inputs.segments()
    parts = _segment_parts(inputs, total, money)
    for s, (seg, part) in enumerate(zip(segments, parts, strict=True)):
        st, sl = seg.statute, slice(seg.start, seg.stop)
        prod = []
        for m in money:
            plant = m["plant"]
            kwh = m["incentivised_kwh"] if len(segments) == 1 else float(
                e["plant_incentivised"][m["index"], sl].sum())
            if kwh <= 0:
                continue
            owner_pct = 100.0 - sum(pct for _, pct in plant.shares)
            if owner_pct > 0:
                prod.append(((plant.membership_id, plant.id, None), kwh * owner_pct / 100.0))
            for user_id, pct in plant.shares:
                prod.append(((None, plant.id, user_id), kwh * pct / 100.0))
        by_member = _by_membership(inputs, e["allocated"][:, sl].sum(axis=1))
        cons = [(mid, w) for mid, w in sorted(by_member.items()) if w > 0]
        prod_w = sum(to_decimal(w) for _, w in prod)
        cons_w = sum(to_decimal(w) for _, w in cons)
        prod_part = part * st.producers_pct / hundred if prod_w else Decimal(0)
        cons_part = part * st.consumers_pct / hundred if cons_w else Decimal(0)
        shares = [(("p", *k), w, prod_part * to_decimal(w) / prod_w) for k, w in prod]
        shares += [(("c", mid), w, cons_part * to_decimal(w) / cons_w) for mid, w in cons]
        shares.append((("f",), 0.0, max(part - prod_part - cons_part, Decimal(0))))
        for key, kwh, eur in shares:
            exact[key] = exact.get(key, Decimal(0)) + eur
            per_segment.setdefault(key, []).append((s, kwh, eur))
        for k, w in prod:
            producers.setdefault(k, {})[s] = w
        for mid, w in cons:
            consumers.setdefault(mid, {})[s] = w
    # recipients in a stable order: producers as the plants come, consumers by membership, fund
    keys = [("p", *k) for k in producers] + [("c", mid) for mid in sorted(consumers)] + [("f",)]
    amounts = dict(zip(keys, largest_remainder(total, [exact[k] for k in keys]), strict=True))

    def detail(key, pct_name: str) -> dict:
        out = {"segments": [
            {**segments[s].detail(), pct_name: str(getattr(segments[s].statute, pct_name)),
             "weight_kwh": kwh, "exact_eur": str(eur)}
            for s, kwh, eur in per_segment[key]
        ]}
        pcts = {str(getattr(seg.statute, pct_name)) for seg in segments}
        if len(pcts) == 1:
            out[pct_name] = pcts.pop()
        return out

    lines = []
    for (membership_id, plant_id, user_id), kwh_by_segment in producers.items():
        key = ("p", membership_id, plant_id, user_id)
        kwh = sum(kwh_by_segment.values())
        lines.append(LineSpec(membership_id, plant_id, "producer_share", rule("producer_share"), kwh,
                              amounts[key], {"weight_kwh": kwh, **detail(key, "producers_pct")},
                              user_id=user_id))
    for membership_id in sorted(consumers):
        key = ("c", membership_id)
        kwh = sum(consumers[membership_id].values())
        lines.append(LineSpec(membership_id, None, "consumer_share", rule("consumer_share"), kwh,
                              amounts[key], {"weight_kwh": kwh, **detail(key, "consumers_pct")}))
    lines.append(LineSpec(None, None, "fund", rule("fund"), 0.0, amounts[("f",)],
                          {**detail(("f",), "fund_pct"), "exact_eur": str(exact[("f",)])}))
    return lines


register("it_cer")(settle)
register("it_auc")(settle)
