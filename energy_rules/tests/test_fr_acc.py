"""France's ACC keys and perimeter, hand-computed (DOMAIN.md, "France: ACC")."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from energy_rules import fr_acc

PARAMS = fr_acc.default_params("fr_acc")


def test_default_dynamic_is_pro_rata_and_capped_both_ways():
    # interval 1: 10 kWh produced < 12 consumed: 10 x 4/12, 10 x 8/12;
    # interval 2: 10 produced > 5 consumed: each gets its consumption, 5 surplus.
    res = fr_acc.allocate("default_dynamic", [[10.0], [10.0]], [[4.0, 8.0], [2.0, 3.0]])
    assert_allclose(res.allocated_kwh, [[10 / 3, 20 / 3], [2.0, 3.0]])
    assert_allclose(res.surplus_kwh, [0.0, 5.0])


def test_static_unused_share_is_surplus_not_passed_on():
    # shares 60/40 of 10 kWh offer 6 and 4: A consumes 4 (2 unused -> surplus), B takes 4
    # of its 8; with 5 kWh: 3 and 2, all used.
    res = fr_acc.allocate("static", [[10.0], [5.0]], [[4.0, 8.0], [4.0, 8.0]], shares=[0.6, 0.4])
    assert_allclose(res.allocated_kwh, [[4.0, 4.0], [3.0, 2.0]])
    assert_allclose(res.surplus_kwh, [2.0, 0.0])


def test_static_surplus_is_split_over_producers_pro_rata():
    res = fr_acc.allocate("static", [[6.0, 4.0]], [[4.0, 8.0]], shares=[0.6, 0.4])
    assert_allclose(res.surplus_by_producer_kwh, [[1.2, 0.8]])


def test_simple_dynamic_uses_the_shares_of_each_interval():
    res = fr_acc.allocate("simple_dynamic", [[10.0], [10.0]], [[6.0, 3.0], [1.0, 9.0]],
                          shares=[[0.5, 0.5], [0.2, 0.7]])
    # i1: offered 5/5 -> 5 and 3 (cap); i2: offered 2/7 -> 1 (cap) and 7; 10% never offered
    assert_allclose(res.allocated_kwh, [[5.0, 3.0], [1.0, 7.0]])
    assert_allclose(res.surplus_kwh, [2.0, 2.0])


def test_full_dynamic_caps_each_consumer_and_reports_surplus_per_producer():
    # producers 6 and 4 kWh; p0 gives 50 % to each consumer, p1 100 % to c0.
    # c0 offered 3 + 4 = 7 > 5 consumed -> scaled 5/7: 15/7 from p0, 20/7 from p1;
    # c1 offered 3 > 2 consumed -> 2 from p0. Surplus p0 = 6 - 15/7 - 2 = 13/7, p1 = 8/7.
    coef = [[[0.5, 0.5], [1.0, 0.0]]]
    res = fr_acc.allocate("full_dynamic", [[6.0, 4.0]], [[5.0, 2.0]], shares=coef)
    assert_allclose(res.allocated_kwh, [[5.0, 2.0]])
    assert_allclose(res.allocated_by_pair_kwh, [[[15 / 7, 2.0], [20 / 7, 0.0]]])
    assert_allclose(res.surplus_by_producer_kwh, [[13 / 7, 8 / 7]])
    assert_allclose(res.surplus_kwh, [3.0])


def test_full_dynamic_when_consumption_exceeds_production():
    res = fr_acc.allocate("full_dynamic", [[2.0, 1.0]], [[10.0, 10.0]], shares=[[[0.5, 0.5], [0.25, 0.25]]])
    assert_allclose(res.allocated_kwh, [[1.25, 1.25]])
    assert_allclose(res.surplus_by_producer_kwh, [[0.0, 0.5]])


@pytest.mark.parametrize("key, shares, message", [
    ("static", [0.7, 0.4], "add up to more than 1"),
    ("static", [-0.1, 0.4], "between 0 and 1"),
    ("simple_dynamic", [[0.5, 0.5]], "(intervals, consumers)"),
    ("nonsense", None, "unknown French allocation key"),
])
def test_bad_shares_are_refused(key, shares, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        fr_acc.allocate(key, [[1.0], [1.0]], [[1.0, 1.0], [1.0, 1.0]], shares=shares)


def test_negative_energy_is_refused():
    with pytest.raises(ValueError, match="non-negative"):
        fr_acc.allocate("default_dynamic", [[-1.0]], [[1.0]])


def test_geodesic_distance_matches_vincenty_reference():
    # Vincenty (1975) test line Flinders Peak -> Buninyong: 54,972.271 m
    d = fr_acc.geodesic_m(-(37 + 57 / 60 + 3.72030 / 3600), 144 + 25 / 60 + 29.52440 / 3600,
                          -(37 + 39 / 60 + 10.15610 / 3600), 143 + 55 / 60 + 35.38390 / 3600)
    assert d == pytest.approx(54972.271, abs=0.001)
    assert fr_acc.geodesic_m(0, 0, 1, 0) == pytest.approx(110574.389, abs=0.01)


def north_of(lat, lon, km):
    """A point `km` due north (the meridian arc, by bisection on the geodesic)."""
    lo, hi = lat, lat + km / 100
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if fr_acc.geodesic_m(lat, lon, mid, lon) < km * 1000 else (lo, mid)
    return lo, lon


@pytest.mark.parametrize("km, classes, ok, kind", [
    (1.9, ["urban", "urban", "urban"], True, "default"),
    (2.1, ["urban", "rural", "rural"], False, "default"),
    (9.0, ["peri_urban", "rural", "rural"], True, "peri_urban_or_rural"),
    (11.0, ["peri_urban", "rural", "rural"], False, "peri_urban_or_rural"),
    (15.0, ["rural", "rural", "rural"], True, "rural"),
    (15.0, ["rural", "peri_urban", "rural"], False, "peri_urban_or_rural"),
    (21.0, ["rural", "rural", "rural"], False, "rural"),
    (1.0, ["", "rural", "rural"], True, "default"),  # unknown class: no derogation
])
def test_perimeter(km, classes, ok, kind):
    far = north_of(45.0, 5.0, km)
    lats, lons = [45.0, 45.0 + 0.001, far[0]], [5.0, 5.0, far[1]]
    check = fr_acc.perimeter_check(lats, lons, classes, PARAMS)
    assert check.ok is ok and check.limit_kind == kind
    assert check.distance_km == pytest.approx(km, abs=1e-6)
    assert set(check.furthest) == {0, 2}


def test_furthest_pair_of_many_points_is_the_exhaustive_answer():
    rng = np.random.default_rng(7)
    lats, lons = 45 + rng.random(600) * 0.15, 5 + rng.random(600) * 0.2
    i, j = np.triu_indices(600, k=1)
    exhaustive = fr_acc.geodesic_m(lats[i], lons[i], lats[j], lons[j]).max()
    assert fr_acc.furthest_pair(lats, lons)[0] == pytest.approx(exhaustive, rel=1e-9)


def test_power_limit():
    assert fr_acc.power_limit_kw(public_body_single_epci=False, params=PARAMS) == 5000
    assert fr_acc.power_limit_kw(public_body_single_epci=True, params=PARAMS) == 10000
