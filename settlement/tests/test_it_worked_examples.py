"""Hand-computed worked examples of the Italian rules (DOMAIN.md and issue 10's list),
settled through the regime registry exactly as a run does (EUR = TIP x kWh / 1000)."""

from datetime import date
from decimal import Decimal

import pytest

from settlement.regimes import REGIMES
from settlement.regimes.it_cacer import RegimeInputError
from settlement.testing.builders import CENTRE, NORTH, SOUTH, inputs


def settle(**kw):
    inp = inputs(**kw)
    return REGIMES[inp.regime](inp)


def lines(result, kind):
    return [line for line in result.lines if line.kind == kind]


def tip(result) -> Decimal:
    return sum((line.amount for line in lines(result, "tip")), Decimal(0))


def one_plant(kwh, *, pz, withdrawal=None, **plant):
    return settle(
        injections=[[kwh]],
        withdrawals=[[withdrawal if withdrawal is not None else kwh]],
        plants=[plant],
        pz=pz,
    )


@pytest.mark.parametrize(
    ("power_kw", "pz", "region", "grant", "kwh", "expected"),
    [
        # DOMAIN.md's worked examples
        (150, 100, SOUTH, 0, 1000, "120.00"),  # min(120, 80 + 80) = 120
        (100, 130, NORTH, 0, 800, "104.00"),  # min(120, 80 + 50) + 10 = 130
        (800, 200, NORTH, 0, 10_000, "700.00"),  # min(100, 60 + 0) + 10 = 70
        (50, 90, NORTH, 40, 3000, "195.00"),  # (120 + 10) x (1 - 0.5) = 65
        # band boundaries: exactly 200 kW is band 1, exactly 600 kW band 2
        (200, 100, SOUTH, 0, 1000, "120.00"),
        (200.001, 100, SOUTH, 0, 1000, "110.00"),
        (600, 100, SOUTH, 0, 1000, "110.00"),
        (600.001, 100, SOUTH, 0, 1000, "100.00"),
        # Pz above and below 180, and on it
        (150, 200, SOUTH, 0, 1000, "80.00"),  # max(0, 180 - 200) = 0 -> base 80
        (150, 180, SOUTH, 0, 1000, "80.00"),
        (150, 150, SOUTH, 0, 1000, "110.00"),  # 80 + 30 = 110 < cap 120
        (400, 170, SOUTH, 0, 1000, "80.00"),  # band 2: 70 + 10
        # each geographic zone: south +0, centre +4, north +10, added after the cap
        (150, 50, CENTRE, 0, 1000, "124.00"),
        (150, 50, NORTH, 0, 1000, "130.00"),
        # 20 % grant: F = 0.5 x 20 / 40 = 0.25 on the whole bracket, geo included
        (150, 50, CENTRE, 20, 1000, "93.00"),  # 124 x 0.75
        (150, 50, NORTH, 40, 1000, "65.00"),
    ],
)
def test_it_pays_the_tip_of_each_band_zone_and_grant(power_kw, pz, region, grant, kwh, expected):
    result = one_plant(kwh, pz=pz, power_kw=power_kw, region=region, grant_pct=grant)
    assert tip(result) == Decimal(expected)
    assert lines(result, "tip")[0].rule == "it_cer.tip@2024"


def test_it_lifts_the_grant_factor_on_energy_of_exempt_withdrawal_points():
    # 1,000 kWh shared, half withdrawn by a parish (exempt): 500 at 130, 500 at 65
    result = settle(
        injections=[[1000]],
        withdrawals=[[500], [500]],
        consumers=[{"grant_exempt": True}, {}],
        plants=[{"power_kw": 50, "region": NORTH, "grant_pct": 40}],
        pz=90,
    )
    assert tip(result) == Decimal("97.50")
    all_exempt = settle(
        injections=[[1000]],
        withdrawals=[[1000]],
        consumers=[{"grant_exempt": True}],
        plants=[{"power_kw": 50, "region": NORTH, "grant_pct": 40}],
        pz=90,
    )
    assert tip(all_exempt) == Decimal("130.00")


def test_it_values_only_the_shared_energy_when_injection_exceeds_withdrawal():
    # injects 1,000, members withdraw 300: 300 shared, TIP 120 -> 36.00
    result = one_plant(1000, withdrawal=300, pz=100, power_kw=150)
    assert tip(result) == Decimal("36.00")
    assert result.shared_kwh[0] == 300


def test_it_values_only_the_injection_when_withdrawal_exceeds_it():
    result = one_plant(300, withdrawal=1000, pz=100, power_kw=150)
    assert tip(result) == Decimal("36.00")
    # the consumer is attributed the 300 kWh shared, not its 1,000 withdrawn
    assert result.allocated_kwh[1, 0] == 300


@pytest.mark.parametrize("pre_first", [True, False])
def test_a_pre_2021_plant_shares_but_earns_no_tip_in_either_order(pre_first):
    # old plant injects 600, new plant 600, members withdraw 800 (all under one substation)
    result = settle(
        injections=[[600], [600]],
        withdrawals=[[800]],
        pz=100,
        plants=[{"commissioned_on": date(2019, 5, 1)}, {"commissioned_on": date(2024, 6, 1)}],
        params={"pre2021_plants_first": pre_first},
    )
    old_shared, new_shared = result.series["plant_shared_kwh"][:, 0]
    assert (old_shared, new_shared) == ((600, 200) if pre_first else (200, 600))
    tips = lines(result, "tip")
    assert [line.plant_id for line in tips] == [2]  # no TIP line for the old plant
    assert tips[0].amount == Decimal("120") * Decimal(new_shared) / 1000
    # the old plant's self-consumed energy is valued (TRAS_E) all the same
    valorised = {line.plant_id: line.energy_kwh for line in lines(result, "valorisation")}
    assert valorised[1] == old_shared


def test_it_assigns_shared_energy_oldest_plant_first():
    result = settle(
        injections=[[500], [500]],
        withdrawals=[[600]],
        pz=100,
        plants=[{"commissioned_on": date(2024, 9, 1)}, {"commissioned_on": date(2023, 1, 1)}],
    )
    assert list(result.series["plant_shared_kwh"][:, 0]) == [100, 500]


def test_cer_values_tras_e_only_and_auc_adds_btau_and_avoided_losses():
    params = {
        "cu_af_eur_per_mwh": {"transmission": 10.57, "distribution": 0.65},
        "avoided_losses_cpr": {"lv": 0.026, "mv": 0.012},
    }
    cer = settle(injections=[[1000]], withdrawals=[[1000]], plants=[{}], pz=100, params=params)
    assert lines(cer, "valorisation")[0].amount == Decimal("10.57")
    auc = settle(
        injections=[[1000]], withdrawals=[[1000]], plants=[{}], pz=100, params=params, regime="it_auc"
    )
    # 10.57 + 0.65 + 0.026 x 100 = 13.82
    assert lines(auc, "valorisation")[0].amount == Decimal("13.82")
    auc_mv = settle(
        injections=[[1000]],
        withdrawals=[[1000]],
        plants=[{"voltage": "mv"}],
        pz=100,
        params=params,
        regime="it_auc",
    )
    assert lines(auc_mv, "valorisation")[0].amount == Decimal("12.42")  # 10.57 + 0.65 + 1.2


def test_domain_excess_example():
    # TIP 6,600 EUR on 60,000 kWh incentivised of 100,000 injected, TIP-only set: 330.00
    ytd = {"plants": {"1": {"incentivised_kwh": 60_000, "injected_kwh": 100_000, "tip_eur": 6600}}}
    result = settle(injections=[[0]], withdrawals=[[0]], plants=[{}], closes_year=True, year_to_date=ytd)
    (excess,) = lines(result, "excess_premium")
    assert excess.amount == Decimal("330.00")
    assert excess.detail["ratio"] == pytest.approx(0.60)


def test_the_excess_is_checked_per_set_of_plants():
    # TIP-only set: 50 % < 55 % -> nothing; with-grant set: 50 % > 45 % -> 5 % of its TIP
    ytd = {
        "plants": {
            "1": {"incentivised_kwh": 50_000, "injected_kwh": 100_000, "tip_eur": 6000},
            "2": {"incentivised_kwh": 50_000, "injected_kwh": 100_000, "tip_eur": 3000},
        }
    }
    result = settle(
        injections=[[0], [0]],
        withdrawals=[[0]],
        plants=[{}, {"grant_pct": 40}],
        closes_year=True,
        year_to_date=ytd,
    )
    by_set = {line.detail["set"]: line.amount for line in lines(result, "excess_premium")}
    assert by_set == {"tip_only": Decimal("0.00"), "tip_with_grant": Decimal("150.00")}


def test_the_excess_goes_only_to_non_business_consumers():
    # one hour: 1,000 kWh shared, TIP 120 + TRAS_E 10.57 = 130.57; the year's excess 5.00
    ytd = {"plants": {"1": {"incentivised_kwh": 59_000, "injected_kwh": 99_000, "tip_eur": 0}}}
    result = settle(
        injections=[[1000]],
        withdrawals=[[500], [500]],
        plants=[{"power_kw": 150}],
        consumers=[{"is_business": True}, {}],
        closes_year=True,
        year_to_date=ytd,
    )
    (excess,) = lines(result, "excess_premium")
    # ratio (59,000 + 1,000) / (99,000 + 1,000) = 0.60 -> 0.05 x 120 = 6.00
    assert excess.amount == Decimal("6.00")
    shares = lines(result, "excess_share")
    assert [(s.membership_id, s.amount) for s in shares] == [(201, Decimal("6.00"))]


def test_decembers_excess_beyond_its_advance_is_carried_into_the_true_up():
    # one hour: 1,000 kWh shared, TIP 120 + TRAS_E 10.57 -> advance 130.57; the year's TIP
    # 100,000 + 120 EUR on (59,000 + 1,000) of (99,000 + 1,000) kWh: ratio 0.60 -> excess
    # 0.05 x 100,120 = 5,006.00, of which December pays 130.57 and carries 4,875.43
    ytd = {"plants": {"1": {"incentivised_kwh": 59_000, "injected_kwh": 99_000, "tip_eur": 100_000}}}
    result = settle(
        injections=[[1000]],
        withdrawals=[[500], [500]],
        plants=[{"power_kw": 150}],
        consumers=[{"is_business": True}, {}],
        closes_year=True,
        year_to_date=ytd,
    )
    assert [line.amount for line in lines(result, "excess_premium")] == [Decimal("5006.00")]
    assert result.totals["excess_reserved_eur"] == "130.57"
    assert result.totals["excess_carried_eur"] == "4875.43"
    assert [(s.membership_id, s.amount) for s in lines(result, "excess_share")] == [(201, Decimal("130.57"))]
    paid = [ln.amount for ln in result.lines if ln.kind in ("producer_share", "consumer_share", "fund")]
    assert set(paid) == {Decimal("0.00")}


def test_the_statute_split_sums_exactly_to_the_advance():
    result = settle(
        injections=[[1000, 333]],
        withdrawals=[[700, 100], [301, 77], [1, 1]],
        pz=[100, 97],
        plants=[{"power_kw": 150}],
    )
    advance = lines(result, "gse_advance")[0].amount
    paid = [line for line in result.lines if line.kind in ("producer_share", "consumer_share", "fund")]
    assert sum(line.amount for line in paid) == advance
    # producers 55 %, consumers 40 %, fund 5 % of the advance (each within a cent)
    prod = sum(line.amount for line in paid if line.kind == "producer_share")
    assert abs(prod - advance * Decimal("0.55")) <= Decimal("0.01")


def test_investors_take_their_share_of_the_plants_producer_part():
    result = settle(injections=[[1000]], withdrawals=[[1000]], plants=[{"shares": ((77, 25.0),)}])
    prod = {(line.membership_id, line.user_id): line.amount for line in lines(result, "producer_share")}
    total = sum(prod.values())
    assert prod[(None, 77)] == (total / 4).quantize(Decimal("0.01"))
    assert prod[(100, None)] == total - prod[(None, 77)]


def test_a_plant_outside_italy_is_an_error_never_a_default_zone():
    with pytest.raises(RegimeInputError):
        one_plant(1000, pz=100, region=None)
