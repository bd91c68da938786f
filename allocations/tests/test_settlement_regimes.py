"""France's and Austria's regime modules as a settlement run calls them
(`settlement.regimes.REGIMES[regime](inputs)`), hand-computed; and the database half of
their inputs (`allocations.settlement.regime_extra`)."""

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest

from allocations.settlement import regime_extra
from allocations.tests.test_allocation_keys_import import GOOD, upload
from energy_rules.figures import default_params
from settlement.regimes import REGIMES
from settlement.regimes.base import PointInfo, SettlementInputs, Statute

START = np.datetime64("2025-02-28T23:00:00")


def run(regime, *, injection, withdrawal, directions, memberships=None, key="pro_rata", static=None,
        extra=None):
    n, t = len(directions), len(injection[0])
    memberships = memberships or list(range(1, n + 1))
    points = [PointInfo(id=100 + i, membership_id=m, user_id=10 + m, member_type="consumer", direction=d,
                        code=f"P{i}") for i, (d, m) in enumerate(zip(directions, memberships, strict=True))]
    inputs = SettlementInputs(
        regime=regime, interval_starts=START + np.arange(t) * np.timedelta64(900, "s"), interval_minutes=15,
        points=points, withdrawal_kwh=np.asarray(withdrawal, dtype=float),
        injection_kwh=np.asarray(injection, dtype=float), plants=[], zonal_eur_per_mwh=np.zeros(t),
        statute=Statute(Decimal(0), Decimal(100), Decimal(0), key, static or {}),
        params=default_params(regime), extra=extra or {})
    return REGIMES[regime](inputs)


def by_kind(result, kind):
    return {line.membership_id: line for line in result.lines if line.kind == kind}


# points: a producer (membership 1) and two consumers (2, 3), two quarter hours
INJ = [[10, 10], [0, 0], [0, 0]]
WD = [[0, 0], [4, 2], [8, 3]]
DIRS = ["injection", "withdrawal", "withdrawal"]


def test_france_default_dynamic_with_supply_value():
    # q1: 10 kWh for 12 -> 10/3 and 20/3; q2: 5 consumed -> 2 and 3, 5 surplus.
    # valued at 0.20 EUR/kWh: 16/3 x 0.2 = 1.0667 -> 1.07; 29/3 x 0.2 = 1.9333 -> 1.93
    res = run("fr_acc", injection=INJ, withdrawal=WD, directions=DIRS,
              extra={"supply_eur_per_kwh": [0.0, 0.2, 0.2]})
    assert np.allclose(res.allocated_kwh, [[0, 0], [10 / 3, 2], [20 / 3, 3]])
    assert np.allclose(res.surplus_kwh, [0, 5])
    value = by_kind(res, "fr_acc_supply_value")
    assert (value[2].amount, value[3].amount) == (Decimal("1.07"), Decimal("1.93"))
    assert by_kind(res, "fr_acc_surplus")[1].energy_kwh == pytest.approx(5)
    assert res.totals["key"] == "default_dynamic"


def test_france_static_key_from_the_statute():
    # shares 60/40 of 10: consumer 2 takes 4 of its 6 in q1 (2 surplus), consumer 3 takes 4;
    # q2: 6 offered, 2 used; 4 offered, 3 used -> surplus 5
    res = run("fr_acc", injection=INJ, withdrawal=WD, directions=DIRS, key="static",
              static={"2": 0.6, "3": 0.4})
    assert np.allclose(res.allocated_kwh[1:], [[4, 2], [4, 3]])
    assert np.allclose(res.surplus_kwh, [2, 5])


def test_france_full_dynamic_from_imported_coefficients():
    coef = np.zeros((2, 1, 3))
    coef[:, 0, 1], coef[:, 0, 2] = 0.5, 0.5
    res = run("fr_acc", injection=INJ, withdrawal=WD, directions=DIRS, key="full_dynamic",
              extra={"fr_producer_points": [0], "fr_coefficients": coef})
    # q1: 5 offered each -> 4 (cap) and 5, surplus 1; q2: 2 and 3, surplus 5
    assert np.allclose(res.allocated_kwh[1:], [[4, 2], [5, 3]])
    assert np.allclose(res.series["surplus_by_point_kwh"][0], [1, 5])
    assert "fr_acc_supply_value" not in {line.kind for line in res.lines}  # no price, no money


def test_austria_dynamic_with_factors_and_grid_fee_saving():
    # 1000 kWh; consumer 2 800 kWh at 100 %, consumer 3 800 at 50 % (400 count):
    # 1000 x 800/1200 = 666.667, 333.333. Local, level 7: 666.667 x 0.055 x 0.57 = 20.90;
    # consumer 3 at level 5 of a local community: no figure -> 0.00
    res = run("at_eeg", injection=[[1000], [0], [0]], withdrawal=[[0], [800], [800]], directions=DIRS,
              extra={"participation_factors": [1.0, 1.0, 0.5], "network_levels": [7, 7, 5],
                     "eeg_scope": "local"})
    saving = by_kind(res, "at_eeg_fee_saving")
    assert saving[2].amount == Decimal("20.90") and saving[2].energy_kwh == pytest.approx(2000 / 3)
    assert saving[3].amount == Decimal("0.00")
    assert np.allclose(res.surplus_kwh, [0])


def test_austria_regional_levels():
    res = run("at_eeg", injection=[[1000], [0], [0]], withdrawal=[[0], [800], [800]], directions=DIRS,
              extra={"participation_factors": [1.0, 1.0, 0.5], "network_levels": [7, 7, 5],
                     "eeg_scope": "regional"})
    saving = by_kind(res, "at_eeg_fee_saving")
    # 666.667 x 0.055 x 0.28 = 10.27; 333.333 x 0.015 x 0.64 = 3.20
    assert (saving[2].amount, saving[3].amount) == (Decimal("10.27"), Decimal("3.20"))


def test_a_foreign_key_is_refused():
    with pytest.raises(ValueError, match="not an Austrian key"):
        run("at_eeg", injection=INJ, withdrawal=WD, directions=DIRS, key="full_dynamic")


@pytest.mark.django_db
def test_regime_extra_feeds_the_imported_shares_and_the_factors(fr, world, as_user):
    assert upload(as_user(world.a.referent), fr, GOOD).status_code == 200
    points = [fr.p1, fr.c1, fr.c2]
    # a run's arrays hold numpy datetime64 (UTC); datetimes work too
    starts = [np.datetime64("2025-02-28T23:00:00"), datetime(2025, 2, 28, 23, 15, tzinfo=UTC)]
    extra = regime_extra(community=fr.community, points=points, interval_starts=starts)
    assert np.allclose(extra["fr_simple_shares"], [[0, 0], [0.6, 0], [0.4, 0]])
    assert extra["fr_producer_points"] == [0]
    assert np.allclose(np.asarray(extra["fr_coefficients"])[1, 0], [0, 0.25, 0.75])
    assert extra["fr_intervals_without_shares"] == 0


@pytest.mark.django_db
def test_regime_extra_of_an_austrian_community(at):
    at.m2.participation_factor_pct, at.m2.network_level = Decimal("40"), 5
    at.m2.save()
    extra = regime_extra(community=at.community, points=[at.p1, at.c1, at.c2], interval_starts=[])
    assert np.allclose(extra["participation_factors"], [1, 1, 0.4])
    assert extra["network_levels"] == [None, None, 5] and extra["eeg_scope"] == "local"
