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


def _plant_order(inputs: SettlementInputs, eligible: np.ndarray) -> np.ndarray:
    """Oldest first (commissioning date, then id); pre-2021 plants first or after the others
    as the parameter `pre2021_plants_first` says (unverified rule, DOMAIN.md)."""
    first = bool(inputs.params.get("pre2021_plants_first", True))

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


def _geo_zone(inputs: SettlementInputs, plant) -> str:
    if not plant.technology.startswith("pv"):
        return "none"  # FC_zonale applies to PV only
    if not plant.region:
        raise RegimeInputError(f"plant {plant.id}: no Italian region (location outside Italy?)")
    try:
        return rules.geo_zone_of_region(inputs.params, plant.region)
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
    order = _plant_order(inputs, eligible)

    wd_zone = wd[zone].sum(axis=0)
    wd_sub = wd[sub].sum(axis=0)
    shared = np.minimum(plant_inj[plant_zone].sum(axis=0), wd_zone)
    self_consumed = np.minimum(plant_inj[plant_sub].sum(axis=0), wd_sub)
    plant_shared = rules.gse_allocation(shared, plant_inj * plant_zone[:, None], order)
    plant_self = rules.gse_allocation(self_consumed, plant_inj * plant_sub[:, None], order)
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


def _plant_money(inputs: SettlementInputs, e: dict) -> list[dict]:
    """Per plant: exact TIP and valorisation (float EUR) with the figures that made them."""
    ref = float(inputs.params.get("tip_pz_reference_eur_per_mwh", 180))
    pz = np.nan_to_num(np.asarray(inputs.zonal_eur_per_mwh, dtype=float), nan=ref)
    out = []
    for i, plant in enumerate(inputs.plants):
        inc = e["plant_incentivised"][i]
        tip_eur, tip_h = 0.0, np.zeros_like(inc)
        geo = None
        if e["eligible"][i] and inc.any():
            geo = _geo_zone(inputs, plant)
            kw = {"power_kw": plant.power_kw, "zonal_eur_per_mwh": pz, "geo_zone": geo}
            full = rules.tip_eur_per_mwh(inputs.params, capital_grant_pct=plant.grant_pct, **kw)
            no_grant = rules.tip_eur_per_mwh(inputs.params, capital_grant_pct=0.0, **kw)
            rate = e["exempt_share"] * no_grant + (1.0 - e["exempt_share"]) * full
            tip_h = inc * rate
            tip_eur = float(tip_h.sum()) / 1000.0
        val_rate = rules.valorisation_eur_per_mwh(
            inputs.params,
            regime=inputs.regime,
            zonal_eur_per_mwh=pz,
            voltage=plant.voltage,
            in_building=plant.in_building,
        )
        val_h = e["plant_self"][i] * val_rate
        val_eur = float(val_h.sum()) / 1000.0
        band = rules.tip_band(inputs.params, plant.power_kw)
        out.append(
            {
                "plant": plant,
                "tip_eur": tip_eur,
                "valorisation_eur": val_eur,
                "geo_zone": geo,
                "band_max_kw": band["max_kw"],
                "eligible": bool(e["eligible"][i]),
                "incentivised_kwh": float(inc.sum()),
                "self_consumed_kwh": float(e["plant_self"][i].sum()),
                "shared_kwh": float(e["plant_shared"][i].sum()),
                "injected_kwh": float(e["plant_injection"][i].sum()),
                "with_grant": plant.grant_pct > 0,
                # EUR x 1000 per hour: what each statute segment earned (`_segment_parts`)
                "money_h": tip_h + val_h,
                "index": i,
            }
        )
    return out


def _excess(inputs: SettlementInputs, money: list[dict]) -> list[dict]:
    """The yearly excess premium per set of plants (DOMAIN.md): only in the run that closes
    the year, over the year's months (`year_to_date["plants"]`, earlier months) plus this one."""
    ytd = inputs.year_to_date.get("plants", {})
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
            inputs.params, incentivised_kwh=inc, injected_kwh=inj, tip_eur=tip, with_grant=grant
        )
        sets.append(
            {
                "set": "tip_with_grant" if with_grant else "tip_only",
                "threshold": rules.excess_threshold(inputs.params, any_grant=with_grant),
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


def settle(inputs: SettlementInputs) -> RegimeResult:
    regime, version = inputs.regime, inputs.params_version or "?"

    def rule(name: str) -> str:
        return f"{regime}.{name}@{version}"

    e = energies(inputs)
    money = _plant_money(inputs, e)
    lines: list[LineSpec] = []
    for m in money:
        plant = m["plant"]
        detail = {
            k: m[k]
            for k in (
                "incentivised_kwh",
                "self_consumed_kwh",
                "shared_kwh",
                "injected_kwh",
                "geo_zone",
                "band_max_kw",
                "eligible",
            )
        }
        detail["grant_pct"] = plant.grant_pct
        if m["eligible"]:
            lines.append(
                LineSpec(
                    None,
                    plant.id,
                    "tip",
                    rule("tip"),
                    m["incentivised_kwh"],
                    cents(m["tip_eur"]),
                    {**detail, "tip_eur": repr(m["tip_eur"])},
                )
            )
        lines.append(
            LineSpec(
                None,
                plant.id,
                "valorisation",
                rule("valorisation"),
                m["self_consumed_kwh"],
                cents(m["valorisation_eur"]),
                {**detail, "valorisation_eur": repr(m["valorisation_eur"])},
            )
        )

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
            {"exact_eur": str(pool_exact)},
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
                    rule(f"excess_premium.{s['set']}"),
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
        lines += _excess_shares(inputs, excess_total, consumer_kwh, rule("excess_share"))

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
