"""Properties of every allocation key (issue 10): allocations never exceed what was
injected or withdrawn, energy is conserved per interval (allocated + surplus =
production), shares respect participation factors.

Profiles: `rules-ci` (default, 3,000 examples per property; with the regime properties of
allocations/tests/test_regime_properties.py, 8,000 cases in ~32 s of CPU here) and
`rules-dev` (300) when HYPOTHESIS_PROFILE=dev."""

import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from energy_rules import at_eeg, fr_acc

# per-test settings, never a global load_profile: other apps' property tests keep theirs
settings.register_profile("rules-ci", max_examples=3000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("rules-dev", max_examples=300, deadline=None)
PROFILE = settings.get_profile("rules-dev" if os.environ.get("HYPOTHESIS_PROFILE") == "dev" else "rules-ci")

TOL = 1e-9
energy = st.floats(min_value=0, max_value=1e4, allow_nan=False, allow_infinity=False)


@st.composite
def flows(draw):
    t, p, c = draw(st.integers(1, 6)), draw(st.integers(1, 3)), draw(st.integers(1, 5))
    prod = draw(arrays(np.float64, (t, p), elements=energy))
    cons = draw(arrays(np.float64, (t, c), elements=energy))
    return prod, cons


def shares(draw, shape, axis):
    raw = draw(arrays(np.float64, shape, elements=st.floats(0, 1)))
    total = raw.sum(axis=axis, keepdims=True)
    scale = draw(st.floats(0, 1))
    return np.where(total > 0, raw / np.where(total > 0, total, 1) * scale, 0.0)


def check(res, prod, cons_cap):
    production = prod.sum(axis=1)
    assert (res.allocated_kwh >= 0).all() and (res.surplus_kwh >= 0).all()
    assert (res.allocated_kwh <= cons_cap * (1 + TOL) + TOL).all()
    assert (res.allocated_kwh.sum(axis=1) <= production * (1 + TOL) + TOL).all()
    assert np.allclose(res.allocated_kwh.sum(axis=1) + res.surplus_kwh, production, rtol=1e-9, atol=1e-6)
    if res.surplus_by_producer_kwh is not None:
        assert (res.surplus_by_producer_kwh <= prod * (1 + TOL) + TOL).all()
        assert np.allclose(res.surplus_by_producer_kwh.sum(axis=1), res.surplus_kwh, rtol=1e-9, atol=1e-6)


@PROFILE
@given(data=st.data(), key=st.sampled_from(fr_acc.KEYS))
def test_french_keys(data, key):
    prod, cons = data.draw(flows())
    t, p = prod.shape
    c = cons.shape[1]
    coef = {
        "static": lambda: shares(data.draw, (c,), 0),
        "default_dynamic": lambda: None,
        "simple_dynamic": lambda: shares(data.draw, (t, c), 1),
        "full_dynamic": lambda: shares(data.draw, (t, p, c), 2),
    }[key]()
    res = fr_acc.allocate(key, prod, cons, shares=coef)
    check(res, prod, cons)
    if key == "full_dynamic":
        pairs = res.allocated_by_pair_kwh
        assert (pairs <= coef * prod[:, :, None] * (1 + TOL) + TOL).all()
        assert np.allclose(pairs.sum(axis=1), res.allocated_kwh, atol=1e-6)


@PROFILE
@given(data=st.data(), key=st.sampled_from(at_eeg.KEYS))
def test_austrian_keys_respect_participation_factors(data, key):
    prod, cons = data.draw(flows())
    c, p = cons.shape[1], prod.shape[1]
    pct = st.integers(1, 100).map(lambda v: v / 100)
    cf = np.array(data.draw(st.lists(pct, min_size=c, max_size=c)))
    pf = np.array(data.draw(st.lists(pct, min_size=p, max_size=p)))
    static = shares(data.draw, (c,), 0) if key == "static" else None
    res = at_eeg.allocate(key, prod, cons, shares=static, consumer_factors=cf, producer_factors=pf)
    check(res, prod * pf, cons * cf)


@PROFILE
@given(data=st.data(), key=st.sampled_from(at_eeg.KEYS))
def test_austrian_factors_per_quarter_hour_equal_each_quarter_hour_alone(data, key):
    """(C, T) factors (a factor changed within the period): every quarter hour is allocated
    as if settled alone with that quarter hour's factors, and the energy is conserved."""
    prod, cons = data.draw(flows())
    (t, c), p = cons.shape, prod.shape[1]
    pct = st.integers(1, 100).map(lambda v: v / 100)
    cf = np.array(data.draw(st.lists(pct, min_size=c * t, max_size=c * t))).reshape(c, t)
    pf = np.array(data.draw(st.lists(pct, min_size=p * t, max_size=p * t))).reshape(p, t)
    static = shares(data.draw, (c,), 0) if key == "static" else None
    res = at_eeg.allocate(key, prod, cons, shares=static, consumer_factors=cf, producer_factors=pf)
    check(res, prod * pf.T, cons * cf.T)
    for k in range(t):
        alone = at_eeg.allocate(key, prod[k:k + 1], cons[k:k + 1], shares=static,
                                consumer_factors=cf[:, k], producer_factors=pf[:, k])
        assert np.allclose(alone.allocated_kwh[0], res.allocated_kwh[k])
