"""GSE's yearly true-up of an Italian community (DOMAIN.md, "Payments: GSE pays monthly
advances, then a true-up by 15 May of the next year").

The true-up of year Y is GSE's yearly statement (`GseYearlyStatement`: per configuration
the TIP and the valorisation GSE finally recognises, and the excess premium) minus the
advances the year's posted monthly runs recorded (their `gse_advance` lines, corrections
included: read from the posted runs, never recomputed). It can be negative (GSE recovers).

Split, as the advances are: first the excess premium still owed to non-business consumers
(GSE's yearly excess minus the `excess_share` lines already posted in the year: what
December could not pay because its advance was smaller, or what GSE found beyond our own
figure), pro rata to their year's shared energy; then the rest by the statute in force in
December (producers / consumers / fund), one largest-remainder split over every recipient,
each line rounded once. The weights are the year's posted producer and consumer lines
(their `energy_kwh`: incentivised energy with investors' shares, allocated shared energy),
so members who left during the year keep their part.

`true_up_inputs` reads everything the run depends on into a pure `TrueUpInputs`;
`true_up_settle` is a pure function of it; `true_up_hash` hashes it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Q, Sum

from communities.models import Community, Configuration, Membership
from communities.selectors import regime_parameters_at
from settlement.models import GseYearlyStatement, LineKind, RunKind, RunStatus, SettlementLine, SettlementRun
from settlement.regimes.base import LineSpec, Statute
from settlement.split import largest_remainder

ITALIAN = ("it_cer", "it_auc")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class TrueUpInputs:
    regime: str
    year: int
    params_version: str
    statute: Statute
    # GSE's statement per configuration: {configuration, incentivised_kwh, tip_eur,
    # valorisation_eur, excess_premium_eur, advances_eur (or None)}
    statement: tuple[dict, ...]
    advances_eur: Decimal  # the year's posted gse_advance lines
    excess_paid_eur: Decimal  # the year's posted excess_share lines
    excess_carried_from_december_eur: Decimal  # December's report (what its advance could not pay)
    producers: tuple[tuple, ...]  # (membership_id, plant_id, user_id, weight_kwh Decimal)
    consumers: tuple[tuple, ...]  # (membership_id, weight_kwh Decimal, is_business)
    runs: tuple[int, ...]  # the posted monthly runs counted


@dataclass
class TrueUpGathered:
    inputs: TrueUpInputs
    blocking: list[str] = field(default_factory=list)

    @property
    def data_quality(self) -> dict:
        return {"blocking": self.blocking, "true_up_year": self.inputs.year}


def true_up_hash(inputs: TrueUpInputs) -> str:
    """SHA-256 of the canonical inputs: same statement, same posted runs -> same hash."""
    text = json.dumps(asdict(inputs), sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


# --- reads ------------------------------------------------------------------------------


def _sum(qs) -> Decimal:
    return qs.aggregate(total=Sum("amount"))["total"] or ZERO


def _statute(community: Community, december: date) -> tuple[Configuration | None, Statute]:
    config = (
        Configuration.objects.filter(community=community, status="active", valid_from__lte=december)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=december))
        .select_related("regime_parameters")
        .order_by("-valid_from")
        .first()
    )
    if config is None:
        return None, Statute(Decimal(55), Decimal(40), Decimal(5))
    return config, Statute(config.producers_pct, config.consumers_pct, config.fund_pct)


def true_up_inputs(*, community: Community, year: int) -> TrueUpGathered:
    """Everything the true-up of `community`'s `year` depends on, with what blocks approval
    (December not posted, a month of the year with an open run, no statute in December)."""
    december = date(year, 12, 1)
    statement = tuple(
        {
            "configuration": s.configuration,
            "incentivised_kwh": s.incentivised_kwh,
            "tip_eur": s.tip_eur,
            "valorisation_eur": s.valorisation_eur,
            "excess_premium_eur": s.excess_premium_eur,
            "advances_eur": s.advances_eur,
        }
        for s in GseYearlyStatement.objects.filter(community=community, year=year).order_by("configuration")
    )
    year_runs = SettlementRun.objects.filter(period__community=community, period__month__year=year).exclude(
        kind=RunKind.TRUE_UP
    )
    posted = year_runs.filter(status=RunStatus.POSTED)
    lines = SettlementLine.objects.filter(run__in=posted)
    producers = tuple(
        (r["membership_id"], r["plant_id"], r["user_id"], r["w"])
        for r in lines.filter(kind=LineKind.PRODUCER_SHARE)
        .values("membership_id", "plant_id", "user_id")
        .annotate(w=Sum("energy_kwh"))
        .order_by("plant_id", "membership_id", "user_id")
        if r["w"] > 0
    )
    consumer_w = {
        r["membership_id"]: r["w"]
        for r in lines.filter(kind=LineKind.CONSUMER_SHARE)
        .values("membership_id")
        .annotate(w=Sum("energy_kwh"))
        if r["w"] > 0
    }
    business = dict(Membership.objects.filter(pk__in=consumer_w).values_list("pk", "is_business"))
    last_december = posted.filter(period__month=december).order_by("-number").first()
    config, statute = _statute(community, december)
    # the parameter version in force at the year's close (31 Dec, local): the one whose
    # excess-premium thresholds the run closing the year applied (our reading, README)
    close = date(year, 12, 31)
    closing, _ = _statute(community, close)
    rp = closing.regime_parameters if closing and closing.regime_parameters_id else None
    rp = rp or regime_parameters_at(regime=community.regime, on=close)
    inputs = TrueUpInputs(
        regime=community.regime,
        year=year,
        params_version=rp.version if rp else "default",
        statute=statute,
        statement=statement,
        advances_eur=_sum(lines.filter(kind=LineKind.GSE_ADVANCE)),
        excess_paid_eur=_sum(lines.filter(kind=LineKind.EXCESS_SHARE)),
        excess_carried_from_december_eur=Decimal(
            (last_december.totals or {}).get("excess_carried_eur", "0") if last_december else "0"
        ),
        producers=producers,
        consumers=tuple((m, w, bool(business.get(m))) for m, w in sorted(consumer_w.items())),
        runs=tuple(posted.order_by("pk").values_list("pk", flat=True)),
    )
    blocking = []
    if not statement:
        blocking.append(f"no GSE statement imported for {year}")
    if last_december is None:
        blocking.append(
            f"December {year} is not posted yet: the true-up comes after the run that closes the year"
        )
    open_months = sorted(
        {f"{m:%Y-%m}" for m in year_runs.filter(status__in=[RunStatus.DRAFT, RunStatus.APPROVED])
         .values_list("period__month", flat=True)}
    )
    if open_months:
        blocking.append(f"open runs in {', '.join(open_months)}: post them first (they change the advances)")
    if config is None:
        blocking.append(f"no active configuration (statute) in force in December {year}")
    return TrueUpGathered(inputs, blocking)


# --- the rules (pure) -------------------------------------------------------------------


def _signed_split(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Largest remainder of a total of either sign: a negative total (GSE recovers) is split
    as its magnitude and every share negated, so the lines still add up exactly."""
    if total < 0:
        return [-a for a in largest_remainder(-total, weights)]
    return largest_remainder(total, weights)


def _excess_lines(inp: TrueUpInputs, reserve: Decimal, rule_id: str, why: dict) -> list[LineSpec]:
    if not reserve:
        return []
    eligible = [(m, w) for m, w, is_business in inp.consumers if not is_business and w > 0]
    if not eligible:
        # nobody eligible consumed: social purposes, kept in the fund as its own line (as the
        # monthly runs do; the referent accounts for it separately)
        return [LineSpec(None, None, "excess_share", rule_id, 0.0, reserve,
                         {**why, "to": "fund", "reason": "no eligible consumer"})]
    amounts = largest_remainder(reserve, [w for _, w in eligible])
    return [
        LineSpec(m, None, "excess_share", rule_id, float(w), a, {**why, "weight_kwh": str(w)})
        for (m, w), a in zip(eligible, amounts, strict=True)
        if a
    ]


def _statute_lines(inp: TrueUpInputs, total: Decimal, rule) -> list[LineSpec]:
    """Producers / consumers / fund by the statute's percentages of `total` (either sign),
    one split over every recipient; a side without weight leaves its part to the fund."""
    st, hundred = inp.statute, Decimal(100)
    magnitude = abs(total)
    prod_w = sum((p[3] for p in inp.producers), Decimal(0))
    consumers = [(m, w) for m, w, _ in inp.consumers if w > 0]
    cons_w = sum((w for _, w in consumers), Decimal(0))
    prod_part = magnitude * st.producers_pct / hundred if prod_w else Decimal(0)
    cons_part = magnitude * st.consumers_pct / hundred if cons_w else Decimal(0)
    weights = [prod_part * p[3] / prod_w for p in inp.producers]
    weights += [cons_part * w / cons_w for _, w in consumers]
    weights.append(max(magnitude - prod_part - cons_part, Decimal(0)))
    amounts = _signed_split(total, weights)
    base = {"year": inp.year, "split_eur": str(total)}
    lines = [
        LineSpec(membership_id, plant_id, "producer_share", rule("producer_share"), float(w), amount,
                 {**base, "weight_kwh": str(w), "producers_pct": str(st.producers_pct)}, user_id=user_id)
        for (membership_id, plant_id, user_id, w), amount in zip(inp.producers, amounts, strict=False)
    ]
    lines += [
        LineSpec(membership_id, None, "consumer_share", rule("consumer_share"), float(w), amount,
                 {**base, "weight_kwh": str(w), "consumers_pct": str(st.consumers_pct)})
        for (membership_id, w), amount in zip(consumers, amounts[len(inp.producers):], strict=False)
    ]
    lines.append(LineSpec(None, None, "fund", rule("fund"), 0.0, amounts[-1],
                          {**base, "fund_pct": str(st.fund_pct), "exact_eur": str(weights[-1])}))
    return lines


def true_up_settle(inp: TrueUpInputs) -> tuple[list[LineSpec], dict]:
    """The true-up's lines and totals (see the module docstring). The `true_up` line is
    GSE's yearly amount (TIP + valorisation) minus the posted advances; the paid lines
    (`excess_share`, `producer_share`, `consumer_share`, `fund`) add up to it exactly."""

    def rule(name: str) -> str:
        return f"{inp.regime}.true_up.{name}@{inp.params_version}"

    def total(key):
        return sum((row[key] for row in inp.statement), Decimal(0))

    gse_tip, gse_val, gse_excess = total("tip_eur"), total("valorisation_eur"), total("excess_premium_eur")
    gse_total = gse_tip + gse_val
    amount = gse_total - inp.advances_eur
    # the excess premium is part of the TIP: what is still owed to non-business consumers
    # is reserved first; an excess already over-paid is not clawed back from them (it stays
    # theirs), so the reserve never goes below zero
    reserve = max(gse_excess - inp.excess_paid_eur, ZERO)
    gse_advances = [row["advances_eur"] for row in inp.statement if row["advances_eur"] is not None]
    totals = {
        "year": inp.year,
        "configurations": [row["configuration"] for row in inp.statement],
        "gse_tip_eur": str(gse_tip),
        "gse_valorisation_eur": str(gse_val),
        "gse_total_eur": str(gse_total),
        "gse_excess_eur": str(gse_excess),
        "gse_incentivised_kwh": str(total("incentivised_kwh")),
        "advances_eur": str(inp.advances_eur),
        "gse_advances_eur": str(sum(gse_advances, Decimal(0))) if gse_advances else None,
        "true_up_eur": str(amount),
        "excess_paid_eur": str(inp.excess_paid_eur),
        "excess_carried_eur": str(reserve),
        "excess_carried_from_december_eur": str(inp.excess_carried_from_december_eur),
        "statute_split_eur": str(amount - reserve),
        "runs": list(inp.runs),
    }
    head = LineSpec(
        None, None, "true_up", rule("true_up"), float(total("incentivised_kwh")), amount,
        {k: totals[k] for k in ("gse_tip_eur", "gse_valorisation_eur", "gse_total_eur", "advances_eur",
                                "gse_advances_eur", "gse_excess_eur", "excess_paid_eur", "excess_carried_eur",
                                "excess_carried_from_december_eur", "runs")}
        | {"configurations": [
            {k: str(v) if v is not None else None for k, v in row.items()} for row in inp.statement
        ]},
    )
    why = {k: totals[k] for k in ("gse_excess_eur", "excess_paid_eur", "excess_carried_eur",
                                  "excess_carried_from_december_eur")}
    lines = [head, *_excess_lines(inp, reserve, rule("excess_share"), why)]
    lines += _statute_lines(inp, amount - reserve, rule)
    return lines, totals
