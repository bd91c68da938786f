"""Austria's EEG keys, participation factors and grid-fee saving, hand-computed."""

from decimal import Decimal

import pytest
from numpy.testing import assert_allclose

from energy_rules import at_eeg

PARAMS = at_eeg.default_params("at_eeg")


def test_dynamic_with_a_participation_factor():
    # meter A takes part with 50 %: of its 8 kWh only 4 count; B 8. 10 kWh < 12 -> 10/3, 20/3.
    res = at_eeg.allocate("dynamic", [[10.0]], [[8.0, 8.0]], consumer_factors=[0.5, 1.0])
    assert_allclose(res.allocated_kwh, [[10 / 3, 20 / 3]])
    assert_allclose(res.surplus_kwh, [0.0])


def test_dynamic_when_production_exceeds_consumption():
    res = at_eeg.allocate("dynamic", [[10.0]], [[2.0, 3.0]], consumer_factors=[0.5, 1.0])
    assert_allclose(res.allocated_kwh, [[1.0, 3.0]])
    assert_allclose(res.surplus_kwh, [6.0])


def test_static_unused_share_is_surplus():
    # 50/50 of 10: A may take 0.5 x 8 = 4 (1 of its share unused), B consumes 3 (2 unused)
    res = at_eeg.allocate("static", [[10.0]], [[8.0, 3.0]], shares=[0.5, 0.5], consumer_factors=[0.5, 1.0])
    assert_allclose(res.allocated_kwh, [[4.0, 3.0]])
    assert_allclose(res.surplus_kwh, [3.0])


def test_factors_summing_below_one_hundred_leave_the_rest_to_the_grid():
    # a meter in two communities at 30 % and 40 %: this community sees 30 % of 10 kWh
    res = at_eeg.allocate("dynamic", [[20.0]], [[10.0]], consumer_factors=[0.3])
    assert_allclose(res.allocated_kwh, [[3.0]])
    assert_allclose(res.surplus_kwh, [17.0])


def test_producer_factor_limits_the_community_generation():
    res = at_eeg.allocate("dynamic", [[10.0, 10.0]], [[30.0]], producer_factors=[0.5, 1.0])
    assert_allclose(res.allocated_kwh, [[15.0]])
    assert_allclose(res.surplus_by_producer_kwh, [[0.0, 0.0]])


@pytest.mark.parametrize("factors", [[0.0], [1.5], [0.5, 0.5]])
def test_bad_factors_are_refused(factors):
    with pytest.raises(ValueError, match="factors"):
        at_eeg.allocate("dynamic", [[1.0]], [[1.0]], consumer_factors=factors)


@pytest.mark.parametrize("scope, level, kwh, expected", [
    ("local", 7, 1000.0, "31.35"),     # 1000 x 0.0550 x 0.57
    ("local", 6, 1000.0, "14.25"),     # 1000 x 0.0250 x 0.57
    ("regional", 7, 1000.0, "15.40"),  # 1000 x 0.0550 x 0.28
    ("regional", 5, 1000.0, "9.60"),   # 1000 x 0.0150 x 0.64
    ("regional", 6, 1000.0, "0.00"),   # no figure for level 6 in a regional community
    ("local", None, 1000.0, "0.00"),   # level unknown: no reduction claimed
    ("local", 7, 123.456789, "3.87"),  # 123.456789 x 0.055 x 0.57 = 3.8704... rounded once
])
def test_grid_fee_saving(scope, level, kwh, expected):
    saving = at_eeg.grid_fee_saving(kwh, scope=scope, network_level=level, params=PARAMS)
    assert saving.saving_eur == Decimal(expected)
    assert scope in saving.rule


def test_grid_fee_saving_is_rounded_once_from_the_unrounded_sum():
    # 3 x 0.1 kWh: rounding each quarter hour first would give 3 x 0.00 = 0.00
    parts = [at_eeg.grid_fee_saving(0.1, scope="local", network_level=7, params=PARAMS).saving_eur] * 3
    whole = at_eeg.grid_fee_saving(0.3 * 100, scope="local", network_level=7, params=PARAMS)
    assert sum(parts) == Decimal("0.00")
    assert whole.saving_eur == Decimal("0.94")  # 30 x 0.055 x 0.57 = 0.9405
