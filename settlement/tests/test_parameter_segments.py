"""A regime parameter version changing within the month is applied per interval (issue 10
leftover): each hour (Italy) or quarter hour (France, Austria) takes the figures of the
version in force; the lines name the versions they used, each printed line is rounded once
from its unrounded sum; the run is approvable and its inputs hash covers every version.
What still blocks: a version with another interval length. The yearly excess premium takes
the thresholds of the version in force at the year's close (31 Dec, local).

The Italian month is test_api's (March 2025 in Rome, 743 h, each hour 1.5 kWh shared,
self-consumed and incentivised, a 6 kWp PV plant in Emilia-Romagna, Pz 100 EUR/MWh). The new
version starts on the 16th: 00:00 in Rome = 23:00 UTC on the 15th, so 15 x 24 = 360 hours
(540 kWh) under the old version and 383 hours (574.5 kWh) under the new one."""

from datetime import date
from decimal import Decimal

import pytest

from allocations.tests.conftest import at, fr  # noqa: F401 - the French and Austrian sites
from communities.models import RegimeParameters
from communities.regime_sets import TIP, regime_parameters_ensure
from settlement.tests.test_api import URL, amounts, draft
from settlement.tests.test_true_up import close_the_year, statement, true_up, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def seeded_sets(db):
    """The seeded versions (it_cer / it_auc 2024, fr_acc 2023, at_eeg 2024): a test that
    flushes the database (TransactionTestCase) removes the migration's rows."""
    regime_parameters_ensure()

NEW_TIP = {
    # the first band's base and cap raised, and TRAS_E corrected to the other 2024 figure
    # DOMAIN.md cites (8.22 instead of 10.57)
    "tip_bands": [{"max_kw": 200, "base_eur_per_mwh": 90, "cap_eur_per_mwh": 125}, *TIP["tip_bands"][1:]],
    "cu_af_eur_per_mwh": {"transmission": 8.22, "distribution": 0.65, "total": 8.87},
}


def version(regime, name, day, params):
    return RegimeParameters.objects.create(regime=regime, version=name, valid_from=day, params=params)


def of_kind(body, kind):
    return [ln for ln in body["lines"] if ln["kind"] == kind]


def test_hours_before_the_change_use_the_old_figures_and_hours_after_the_new(settled, as_user):
    """Old (2024): TIP min(120, 80 + 80) + 10 (North) = 130, TRAS_E 10.57; new: TIP
    min(125, 90 + 80) + 10 = 135, TRAS_E 8.22.
        TIP   540 x 130 / 1000 = 70.20        574.5 x 135 / 1000 = 77.5575 -> 77.56
        val.  540 x 10.57 / 1000 = 5.7078 -> 5.71   574.5 x 8.22 / 1000 = 4.72239 -> 4.72
    advance from the unrounded sum: 158.18769 -> 158.19 (one version would give 156.67)."""
    version("it_cer", "it-2025-03-16", date(2025, 3, 16), NEW_TIP)
    referent = as_user(settled.world.a.referent)
    body = draft(referent, settled.community).json()
    assert body["data_quality"]["blocking"] == []
    tip = {ln["rule"]: ln for ln in of_kind(body, "tip")}
    val = {ln["rule"]: ln for ln in of_kind(body, "valorisation")}
    assert {r: Decimal(ln["amount"]) for r, ln in tip.items()} == {
        "it_cer.tip@2024": Decimal("70.20"), "it_cer.tip@it-2025-03-16": Decimal("77.56")}
    assert {r: Decimal(ln["amount"]) for r, ln in val.items()} == {
        "it_cer.valorisation@2024": Decimal("5.71"), "it_cer.valorisation@it-2025-03-16": Decimal("4.72")}
    assert Decimal(tip["it_cer.tip@2024"]["energy_kwh"]) == Decimal("540")
    assert Decimal(tip["it_cer.tip@it-2025-03-16"]["energy_kwh"]) == Decimal("574.5")
    seg = tip["it_cer.tip@it-2025-03-16"]["detail"]["parameter_segments"]
    assert [(s["version"], s["valid_from"], s["intervals"]) for s in seg] == [
        ("it-2025-03-16", "2025-03-16", [360, 743])]
    assert amounts(body, "gse_advance") == [Decimal("158.19")]
    # the month-wide lines name both versions
    for kind in ("gse_advance", "producer_share", "consumer_share", "fund"):
        assert {ln["rule"] for ln in of_kind(body, kind)} == {f"it_cer.{kind}@2024+it-2025-03-16"}
    advance = of_kind(body, "gse_advance")[0]["detail"]["parameter_segments"]
    assert [(s["version"], s["intervals"]) for s in advance] == [
        ("2024", [0, 360]), ("it-2025-03-16", [360, 743])]
    # the shares still add up to the advance
    paid = sum(amounts(body, "producer_share") + amounts(body, "consumer_share") + amounts(body, "fund"))
    assert paid == Decimal("158.19")
    assert referent.post(f"{URL}/{body['id']}/approve").status_code == 200


def test_the_same_inputs_give_the_same_run_and_the_hash_covers_every_version(settled, as_user):
    new = version("it_cer", "it-2025-03-16", date(2025, 3, 16), NEW_TIP)
    referent = as_user(settled.world.a.referent)
    first = draft(referent, settled.community).json()
    again = draft(referent, settled.community).json()
    assert (again["id"], again["inputs_hash"], again["result_hash"]) == (
        first["id"], first["inputs_hash"], first["result_hash"])
    # another figure in the new version makes other inputs (and another run)
    new.params = {**NEW_TIP, "tip_pz_reference_eur_per_mwh": 170}
    new.save(update_fields=["params"])
    changed = draft(referent, settled.community).json()
    assert changed["id"] != first["id"] and changed["inputs_hash"] != first["inputs_hash"]
    # moving the change date too
    new.valid_from = date(2025, 3, 20)
    new.save(update_fields=["valid_from"])
    moved = draft(referent, settled.community).json()
    assert moved["inputs_hash"] not in (first["inputs_hash"], changed["inputs_hash"])
    assert amounts(moved, "tip")[0] == Decimal("130") * Decimal("1.5") * 19 * 24 / 1000  # 88.92


def test_one_version_over_the_month_keeps_the_single_set_run(settled, as_user):
    """A version starting on the 1st of the next month changes nothing in this one."""
    referent = as_user(settled.world.a.referent)
    before = draft(referent, settled.community).json()
    version("it_cer", "it-2025-04", date(2025, 4, 1), NEW_TIP)
    after = draft(referent, settled.community).json()
    assert after["id"] == before["id"] and after["inputs_hash"] == before["inputs_hash"]
    assert {ln["rule"] for ln in of_kind(after, "tip")} == {"it_cer.tip@2024"}


def test_another_interval_length_within_the_month_still_blocks(settled, as_user):
    version("it_cer", "it-15min", date(2025, 3, 16), {"interval_minutes": 15})
    referent = as_user(settled.world.a.referent)
    body = draft(referent, settled.community).json()
    assert any("change the interval length within this month" in b and "it-15min" in b
               and "must take effect on a 1st" in b for b in body["data_quality"]["blocking"])
    res = referent.post(f"{URL}/{body['id']}/approve")
    assert res.status_code == 409 and res.json()["error"] == "DataQuality"


def test_the_excess_premium_uses_the_version_in_force_at_the_years_close(settled, as_user):
    """test_true_up's year: December closes it with incentivised / injected = 1,263.3 /
    1,634.8 = 0.772755 over a TIP of 164.229 EUR. A version from 16 Dec raises the TIP-only
    threshold to 60 % (same TIP figures): excess (0.772755 - 0.60) x 164.229 = 28.3714 ->
    28.37 (the old 55 % would give 36.58). December's TIP line is one line naming both
    versions, as their figures for the plant are the same."""
    version("it_cer", "it-2025-12-16", date(2025, 12, 16), {"excess_threshold": 0.60})
    referent = as_user(settled.world.a.referent)
    december = close_the_year(settled, referent)
    excess = of_kind(december, "excess_premium")
    assert [(ln["rule"], Decimal(ln["amount"])) for ln in excess] == [
        ("it_cer.excess_premium.tip_only@it-2025-12-16", Decimal("28.37"))]
    assert excess[0]["detail"]["threshold"] == 0.60
    assert {ln["rule"] for ln in of_kind(december, "tip")} == {"it_cer.tip@2024+it-2025-12-16"}
    assert {ln["rule"] for ln in of_kind(december, "excess_share")} == {"it_cer.excess_share@it-2025-12-16"}
    # the yearly true-up names the same version
    gse = statement("200.00", "20.00", "30.00", "177.59")
    assert upload(referent, settled.community, gse).status_code == 200
    body = true_up(referent, settled.community).json()
    assert {ln["rule"].rsplit("@", 1)[1] for ln in body["lines"]} == {"it-2025-12-16"}


def test_austrian_grid_fee_savings_take_each_quarter_hours_figures(at, world, as_user):  # noqa: F811
    """Each quarter hour 1 kWh for 0.5 + 1.0 -> 1/3 and 2/3 (local scope, factors 100 %).
    A version from 16 March (00:00 in Vienna = 23:00 UTC on the 15th: 1,440 quarter hours
    before, 1,532 after) raises the level-7 charge from 0.055 to 0.070 EUR/kWh:
        member 1 (level 7)  480 x 0.055 x 0.57 = 15.048 -> 15.05
                            510.667 x 0.070 x 0.57 = 20.3756 -> 20.38
        member 2 (level 6, 0.025 in both) 1,981.333 x 0.025 x 0.57 = 28.234 -> 28.23, one line"""
    from allocations.tests.test_settlement_run import draft as at_draft
    from allocations.tests.test_settlement_run import meter

    at.m1.network_level, at.m2.network_level = 7, 6
    at.m1.save()
    at.m2.save()
    version("at_eeg", "at-2025-03-16", date(2025, 3, 16), {"grid_usage_energy_charge_eur_per_kwh": {
        "5": "0.0150", "6": "0.0250", "7": "0.0700"}})
    meter(at)
    referent = as_user(world.a.referent)
    body = at_draft(referent, at).json()
    assert body["data_quality"]["blocking"] == []
    saving = {(ln["membership"], ln["rule"]): ln for ln in of_kind(body, "at_eeg_fee_saving")}
    assert {k: Decimal(ln["amount"]) for k, ln in saving.items()} == {
        (at.m1.pk, "at_eeg.grid_fee_saving.local.level7@2024"): Decimal("15.05"),
        (at.m1.pk, "at_eeg.grid_fee_saving.local.level7@at-2025-03-16"): Decimal("20.38"),
        (at.m2.pk, "at_eeg.grid_fee_saving.local.level6@2024+at-2025-03-16"): Decimal("28.23"),
    }
    first = saving[(at.m1.pk, "at_eeg.grid_fee_saving.local.level7@2024")]
    assert Decimal(first["energy_kwh"]) == pytest.approx(Decimal(480), abs=Decimal("0.001"))
    assert [s["intervals"] for s in first["detail"]["parameter_segments"]] == [[0, 1440]]
    allocated = {ln["rule"] for ln in of_kind(body, "at_eeg_allocated")}
    assert allocated == {"at_eeg.allocated.dynamic@2024+at-2025-03-16"}
    again = at_draft(referent, at).json()
    assert (again["id"], again["inputs_hash"]) == (body["id"], body["inputs_hash"])
    assert referent.post(f"{URL}/{body['id']}/approve").status_code == 200


def test_french_lines_name_the_versions_of_their_quarter_hours(fr, world, as_user):  # noqa: F811
    """France's parameter set carries no figure the settlement applies per interval besides
    its length: the energy and value lines are those of one version, named after both."""
    from allocations.tests.test_settlement_run import QUARTERS, official
    from allocations.tests.test_settlement_run import draft as fr_draft
    from communities.models import Configuration
    from pricing.models import Tariff

    Configuration.objects.create(community=fr.community, name="ACC", valid_from=date(2025, 1, 1),
                                 allocation_key="pro_rata")
    Tariff.objects.create(community=fr.community, name="Base", kind="flat", flat_eur_per_kwh=Decimal("0.20"),
                          valid_from=date(2025, 1, 1))
    version("fr_acc", "fr-2025-03-16", date(2025, 3, 16), {})
    official(fr)
    referent = as_user(world.a.referent)
    body = fr_draft(referent, fr).json()
    assert body["data_quality"]["blocking"] == []
    rules = {ln["rule"].rsplit("@", 1)[1] for ln in body["lines"]}
    assert rules == {"2023+fr-2025-03-16"}
    value = {ln["membership"]: ln for ln in of_kind(body, "fr_acc_supply_value")}
    assert (Decimal(value[fr.m1.pk]["amount"]), Decimal(value[fr.m2.pk]["amount"])) == (
        Decimal("198.13"), Decimal("396.27"))  # as with one version (test_settlement_run)
    segs = value[fr.m1.pk]["detail"]["parameter_segments"]
    assert [(s["version"], s["intervals"]) for s in segs] == [("2023", [0, 1440]), ("fr-2025-03-16",
                                                                                    [1440, QUARTERS])]
    assert referent.post(f"{URL}/{body['id']}/approve").status_code == 200


def test_versions_with_the_same_figures_settle_as_one():
    """Pure: splitting a month between two versions with identical figures changes no amount;
    each plant line names both versions (one line, rounded once)."""
    from settlement.regimes import REGIMES
    from settlement.regimes.base import ParamSegment
    from settlement.testing.builders import NORTH, inputs

    n = 50
    one = inputs(injections=[[1.3] * n, [0.7] * n], withdrawals=[[1.1] * n, [0.4] * n],
                 plants=[{"region": NORTH}, {"power_kw": 300.0}], pz=[80.0 + i for i in range(n)])
    two = inputs(injections=[[1.3] * n, [0.7] * n], withdrawals=[[1.1] * n, [0.4] * n],
                 plants=[{"region": NORTH}, {"power_kw": 300.0}], pz=[80.0 + i for i in range(n)])
    two.param_segments = [ParamSegment("a", two.params, 0, 17), ParamSegment("b", dict(two.params), 17, n)]
    single, split = REGIMES["it_cer"](one).lines, REGIMES["it_cer"](two).lines
    assert [(ln.kind, ln.plant_id, ln.membership_id, ln.amount) for ln in split] == [
        (ln.kind, ln.plant_id, ln.membership_id, ln.amount) for ln in single]
    assert {ln.rule.rsplit("@", 1)[1] for ln in split} == {"a+b"}
