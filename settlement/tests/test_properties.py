"""Properties of the settlement (issue 10, at least 10,000 cases in all; the `ci` profile
keeps the whole file under a minute, HYPOTHESIS_PROFILE=deep multiplies the examples):
allocations never exceed what was injected or withdrawn, energy is conserved per interval,
members' amounts sum exactly to the totals, what is posted balances, a re-run changes
nothing and the hash is stable."""

import copy
import os
from datetime import date
from decimal import Decimal

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from settlement.models import SettlementLine
from settlement.regimes import REGIMES
from settlement.regimes.base import Statute, StatuteSegment
from settlement.regimes.it_cacer import energies
from settlement.services import PAYABLE, SOURCE, _difference, inputs_hash, result_hash
from settlement.split import largest_remainder, to_decimal
from settlement.testing.builders import CENTRE, NORTH, SOUTH, inputs

settings.register_profile("ci", deadline=None, database=None, suppress_health_check=list(HealthCheck))
settings.register_profile("deep", deadline=None, database=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
SCALE = 10 if os.environ.get("HYPOTHESIS_PROFILE") == "deep" else 1

energy = st.one_of(
    st.floats(0, 60, allow_nan=False, allow_subnormal=False), st.just(0.0), st.just(float("nan"))
)


@st.composite
def scenarios(draw):
    n_t = draw(st.integers(1, 8))
    n_p = draw(st.integers(0, 3))
    n_c = draw(st.integers(1, 4))
    series = st.lists(energy, min_size=n_t, max_size=n_t)
    plants = [
        {
            "power_kw": draw(st.sampled_from([6.0, 199.9, 200.0, 200.1, 600.0, 900.0])),
            "commissioned_on": draw(
                st.sampled_from([date(2019, 1, 1), date(2021, 12, 15), date(2024, 6, 1)])
            ),
            "region": draw(st.sampled_from([SOUTH, CENTRE, NORTH])),
            "grant_pct": draw(st.sampled_from([0.0, 20.0, 40.0])),
            "shares": draw(st.sampled_from([(), ((77, 25.0),), ((77, 10.0), (78, 90.0))])),
        }
        for _ in range(n_p)
    ]
    consumers = [
        {
            "grant_exempt": draw(st.booleans()),
            "is_business": draw(st.booleans()),
            "market_zone": draw(st.sampled_from(["", "", "SUD"])),
            "primary_substation": draw(st.sampled_from(["", "", "OTHER"])),
        }
        for _ in range(n_c)
    ]
    for c in consumers:  # another market zone is another substation too
        if c["market_zone"]:
            c["primary_substation"] = "OTHER"
    producers = draw(st.integers(0, 100))
    consumers_pct = draw(st.integers(0, 100 - producers))
    ytd = {
        "plants": {
            str(i + 1): {
                "incentivised_kwh": draw(st.floats(0, 1e5)),
                "injected_kwh": draw(st.floats(1e5, 2e5)),
                "tip_eur": draw(st.floats(0, 1e4)),
            }
            for i in range(n_p)
        },
        "consumers": {"200": draw(st.floats(0, 1e4))},
    }
    built = inputs(
        injections=[draw(series) for _ in range(n_p)],
        withdrawals=[draw(series) for _ in range(n_c)],
        plants=plants,
        consumers=consumers,
        pz=draw(st.lists(st.floats(-50, 500), min_size=n_t, max_size=n_t)),
        regime=draw(st.sampled_from(["it_cer", "it_auc"])),
        statute=(Decimal(producers), Decimal(consumers_pct), Decimal(100 - producers - consumers_pct)),
        params={"pre2021_plants_first": draw(st.booleans())},
        closes_year=draw(st.booleans()),
        year_to_date=ytd,
    )
    if n_t > 1 and draw(st.booleans()):
        # a statute changing within the month (issue 10): random cuts, a statute per segment
        cuts = sorted(draw(st.sets(st.integers(1, n_t - 1), min_size=1, max_size=n_t - 1)))
        built.statute_segments = [
            StatuteSegment(statute(draw), a, b, configuration_id=k + 1)
            for k, (a, b) in enumerate(zip([0, *cuts], [*cuts, n_t], strict=True))
        ]
        built.statute = built.statute_segments[-1].statute
    return built


def statute(draw) -> Statute:
    producers = draw(st.integers(0, 100))
    consumers_pct = draw(st.integers(0, 100 - producers))
    return Statute(Decimal(producers), Decimal(consumers_pct), Decimal(100 - producers - consumers_pct))


@settings(max_examples=2500 * SCALE)
@given(scenarios())
def test_allocations_never_exceed_and_energy_is_conserved(inp):
    e = energies(inp)
    eps = 1e-9
    wd, inj = e["withdrawal"], e["plant_injection"]
    assert (e["allocated"] <= wd + eps).all()
    assert (e["plant_shared"] <= inj + eps).all() and (e["plant_self"] <= inj + eps).all()
    assert (e["plant_incentivised"] <= e["plant_self"] + eps).all()
    assert np.allclose(e["plant_shared"].sum(axis=0), e["shared"])
    assert np.allclose(e["plant_self"].sum(axis=0), e["self_consumed"])
    assert (e["self_consumed"] <= e["shared"] + eps).all()
    has_wd = wd.sum(axis=0) > 0
    assert np.allclose(e["allocated"].sum(axis=0)[has_wd], e["shared"][has_wd])
    assert (e["shared"] <= np.minimum(inj.sum(axis=0), wd.sum(axis=0)) + eps).all()


@settings(max_examples=2500 * SCALE)
@given(scenarios())
def test_amounts_sum_exactly_and_what_is_posted_balances(inp):
    result = REGIMES[inp.regime](inp)
    source = sum((ln.amount for ln in result.lines if ln.kind == SOURCE), Decimal(0))
    paid = [ln for ln in result.lines if ln.kind in PAYABLE]
    # every posting is (wallet or fund +x, receivable -x): the run balances iff this holds
    assert sum((ln.amount for ln in paid), Decimal(0)) == source
    assert all(ln.amount >= 0 and ln.amount == ln.amount.quantize(Decimal("0.01")) for ln in result.lines)
    excess = [ln for ln in result.lines if ln.kind == "excess_share"]
    reserved = Decimal(result.totals["excess_reserved_eur"])
    if excess:
        assert sum(ln.amount for ln in excess) == reserved
    business = {p.membership_id for p in inp.points if p.is_business}
    assert not any(ln.membership_id in business for ln in excess)
    tips = [ln for ln in result.lines if ln.kind == "tip"]
    assert all(
        inp.plants[[p.id for p in inp.plants].index(ln.plant_id)].commissioned_on >= date(2021, 12, 15)
        for ln in tips
    )


@settings(max_examples=1000 * SCALE)
@given(scenarios())
def test_each_statute_line_is_within_a_cent_of_its_segments_exact_parts(inp):
    """Per statute segment the money of its hours is split by its own statute; a line sums
    its unrounded parts (named in `detail["segments"]`) and is rounded once."""
    result = REGIMES[inp.regime](inp)
    for ln in result.lines:
        if ln.kind in ("producer_share", "consumer_share", "fund"):
            exact = sum((Decimal(s["exact_eur"]) for s in ln.detail["segments"]), Decimal(0))
            assert abs(ln.amount - exact) < Decimal("0.01")
            seen = {s["configuration"] for s in ln.detail["segments"]}
            assert seen <= {seg.configuration_id for seg in inp.segments()}


@settings(max_examples=1000 * SCALE)
@given(scenarios())
def test_a_rerun_changes_nothing_and_the_hash_is_stable(inp):
    twin = copy.deepcopy(inp)
    assert inputs_hash(inp) == inputs_hash(twin)
    first, second = REGIMES[inp.regime](inp), REGIMES[twin.regime](twin)
    assert result_hash(first.lines) == result_hash(second.lines)
    if inp.n_intervals and inp.n_points:
        twin.withdrawal_kwh[-1, 0] = 1234.5
        assert inputs_hash(twin) != inputs_hash(inp)


@settings(max_examples=3500 * SCALE)
@given(st.integers(0, 10**9), st.lists(st.floats(0, 1e6), min_size=1, max_size=30))
def test_largest_remainder_sums_exactly_and_stays_within_a_cent(cents, weights):
    total = Decimal(cents) / 100
    parts = largest_remainder(total, weights)
    wsum = sum(to_decimal(w) for w in weights)
    if wsum == 0:
        assert all(p == 0 for p in parts)
        return
    assert sum(parts) == total
    for part, w in zip(parts, weights, strict=True):
        assert abs(part - total * to_decimal(w) / wsum) < Decimal("0.01")


@settings(max_examples=500 * SCALE)
@given(scenarios(), scenarios())
def test_a_correction_posts_exactly_the_difference(before, after):
    old = REGIMES[before.regime](before).lines
    new = REGIMES[after.regime](after).lines
    posted = [
        SettlementLine(
            kind=s.kind,
            membership_id=s.membership_id,
            plant_id=s.plant_id,
            user_id=s.user_id,
            rule=s.rule,
            amount=s.amount,
            energy_kwh=Decimal(repr(s.energy_kwh)).quantize(Decimal("0.0001")),
        )
        for s in old
    ]
    diff = _difference(new, posted, corrected_run_id=1)

    def totals(lines):
        out = {}
        for ln in lines:
            key = (ln.kind, ln.membership_id, ln.plant_id, ln.user_id)
            out[key] = out.get(key, Decimal(0)) + ln.amount
        return {k: v for k, v in out.items() if v}

    combined = totals([*posted, *diff])
    assert combined == totals(new)
    assert sum((d.amount for d in diff if d.kind in PAYABLE), Decimal(0)) == sum(
        (d.amount for d in diff if d.kind == SOURCE), Decimal(0)
    )
