"""Properties of the French and Austrian regime modules as a run calls them (Hypothesis):
every point's allocation stays within its withdrawal (times its participation factor in
Austria), allocated + surplus = injection in every interval, the energy lines add up to
the arrays, money lines are whole cents, and the same inputs give the same lines.
Profile as in energy_rules/tests/test_properties.py (`ci`: 1,000 examples per property)."""

import os
from decimal import Decimal

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from energy_rules.figures import default_params
from settlement.regimes import REGIMES
from settlement.regimes.base import PointInfo, SettlementInputs, Statute

settings.register_profile("regimes-ci", max_examples=1000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("regimes-dev", max_examples=100, deadline=None)
DEV = os.environ.get("HYPOTHESIS_PROFILE") == "dev"
PROFILE = settings.get_profile("regimes-dev" if DEV else "regimes-ci")
energy = st.floats(min_value=0, max_value=500, allow_nan=False, allow_infinity=False)


@st.composite
def community(draw, regime):
    n, t = draw(st.integers(1, 6)), draw(st.integers(1, 8))
    directions = draw(st.lists(st.sampled_from(["withdrawal", "injection", "both"]), min_size=n, max_size=n))
    memberships = draw(st.lists(st.integers(1, 4), min_size=n, max_size=n))
    takes = np.array([d != "injection" for d in directions])[:, None]
    gives = np.array([d != "withdrawal" for d in directions])[:, None]
    wd = draw(arrays(np.float64, (n, t), elements=energy)) * takes
    inj = draw(arrays(np.float64, (n, t), elements=energy)) * gives
    keys = ["pro_rata", "static"] + (["dynamic", "full_dynamic"] if regime == "fr_acc" else [])
    key = draw(st.sampled_from(keys))
    raw = draw(st.lists(st.floats(0, 1), min_size=4, max_size=4))
    total = sum(raw) or 1.0
    static = {str(m): raw[m - 1] / total * 0.99 for m in range(1, 5)}
    extra = {}
    if regime == "fr_acc":
        shares = draw(arrays(np.float64, (n, t), elements=st.floats(0, 1)))
        extra["fr_simple_shares"] = (shares / np.maximum(shares.sum(axis=0), 1.0)).tolist()
        producers = [i for i, d in enumerate(directions) if d != "withdrawal"]
        coef = draw(arrays(np.float64, (t, len(producers), n), elements=st.floats(0, 1)))
        extra["fr_producer_points"] = producers
        extra["fr_coefficients"] = (coef / np.maximum(coef.sum(axis=2, keepdims=True), 1.0)).tolist()
        extra["supply_eur_per_kwh"] = draw(st.lists(st.floats(0, 1), min_size=n, max_size=n))
    else:
        factors = {m: draw(st.integers(1, 100)) / 100 for m in range(1, 5)}
        extra["participation_factors"] = [factors[m] for m in memberships]
        extra["network_levels"] = draw(st.lists(st.sampled_from([None, 5, 6, 7]), min_size=n, max_size=n))
        extra["eeg_scope"] = draw(st.sampled_from(["local", "regional"]))
    points = [PointInfo(id=i + 1, membership_id=m, user_id=m, member_type="prosumer", direction=d,
                        code=f"P{i}") for i, (d, m) in enumerate(zip(directions, memberships, strict=True))]
    return SettlementInputs(
        regime=regime,
        interval_starts=np.datetime64("2025-03-01T00:00") + np.arange(t) * np.timedelta64(900, "s"),
        interval_minutes=15, points=points, withdrawal_kwh=wd, injection_kwh=inj, plants=[],
        zonal_eur_per_mwh=np.zeros(t), statute=Statute(Decimal(0), Decimal(100), Decimal(0), key, static),
        params=default_params(regime), params_version="test", extra=extra)


def check(inputs, result):
    wd, inj = inputs.withdrawal_kwh, inputs.injection_kwh
    factor = np.asarray(inputs.extra.get("participation_factors", np.ones(len(inputs.points))))[:, None]
    cap = wd * factor if inputs.regime == "at_eeg" else wd
    tol = 1e-9
    assert (result.allocated_kwh >= -tol).all() and (result.allocated_kwh <= cap * (1 + tol) + tol).all()
    own_inj = (inj * factor if inputs.regime == "at_eeg" else inj).sum(axis=0)
    assert np.allclose(result.allocated_kwh.sum(axis=0) + result.surplus_kwh, own_inj, atol=1e-6)
    allocated_lines = sum(ln.energy_kwh for ln in result.lines if ln.kind.endswith("_allocated"))
    assert np.isclose(allocated_lines, result.allocated_kwh.sum(), atol=1e-6)
    surplus_lines = sum(ln.energy_kwh for ln in result.lines if ln.kind.endswith("_surplus"))
    assert np.isclose(surplus_lines, result.surplus_kwh.sum(), atol=1e-6)
    for line in result.lines:
        assert line.amount == line.amount.quantize(Decimal("0.01")) and line.amount >= 0
        assert len(line.kind) <= 20 and len(line.rule) <= 80  # the columns' sizes


@PROFILE
@given(data=st.data())
def test_french_runs(data):
    inputs = data.draw(community("fr_acc"))
    result = REGIMES["fr_acc"](inputs)
    check(inputs, result)
    assert [ln.amount for ln in REGIMES["fr_acc"](inputs).lines] == [ln.amount for ln in result.lines]


@PROFILE
@given(data=st.data())
def test_austrian_runs(data):
    inputs = data.draw(community("at_eeg"))
    result = REGIMES["at_eeg"](inputs)
    check(inputs, result)
    assert [ln.amount for ln in REGIMES["at_eeg"](inputs).lines] == [ln.amount for ln in result.lines]
