"""Issue 10: DOMAIN.md's Italian rules as the simulation applies them, with its hand-computed
worked examples (excess premium per set of plants, valorisation by configuration, the
geographic correction from the plant's region)."""

import dataclasses
from decimal import Decimal

import numpy as np
import pytest

from energy_rules.it_cacer import (
    DEFAULT_IT_PARAMS,
    default_params,
    excess_premium_eur,
    geo_zone_of_region,
    tip_eur_per_mwh,
    valorisation_eur_per_mwh,
)
from simulation.engine import economics as eco
from simulation.engine.run import simulate
from simulation.tests.test_engine import _inputs


def _excess(**kw) -> Decimal:
    return eco.to_money(excess_premium_eur(DEFAULT_IT_PARAMS, **kw))


def test_the_excess_premium_is_a_share_of_the_premium_itself():
    # DOMAIN.md: TIP 6,600 EUR, 60,000 of 100,000 kWh, TIP-only set -> 0.05 x 6,600 = 330.00
    one = {"incentivised_kwh": [60_000], "injected_kwh": [100_000], "tip_eur": [6_600]}
    assert _excess(**one, with_grant=[False]) == Decimal("330.00")
    # not the old reading (shared - 0.55 x injected) / shared x premium = 550.00
    assert _excess(**one, with_grant=[False]) != Decimal("550.00")
    # the set of plants with a capital grant has a 45 % threshold: 0.15 x 6,600
    assert _excess(**one, with_grant=[True]) == Decimal("990.00")
    assert _excess(incentivised_kwh=[50_000], injected_kwh=[100_000], tip_eur=[5_500],
                   with_grant=[False]) == Decimal("0.00")


def test_the_excess_premium_is_checked_per_set_of_plants():
    # TIP-only: 60,000 / 100,000 -> 330.00; with grant: 40,000 / 100,000 < 45 % -> 0.
    # One set over both would be 100,000 / 200,000 = 50 %: 0 at 55 %, wrong at 45 %.
    both = _excess(
        incentivised_kwh=[60_000, 40_000],
        injected_kwh=[100_000, 100_000],
        tip_eur=[6_600, 3_000],
        with_grant=[False, True],
    )
    assert both == Decimal("330.00")
    # two plants of the same set add up before the ratio: 70,000 / 120,000 -> 3.33 % of 7,700
    same = _excess(
        incentivised_kwh=[60_000, 10_000],
        injected_kwh=[100_000, 20_000],
        tip_eur=[6_600, 1_100],
        with_grant=[False, False],
    )
    assert same == eco.to_money((70_000 / 120_000 - 0.55) * 7_700)
    # a plant earning no TIP (before 15 Dec 2021) is in no set
    old_plant = _excess(
        incentivised_kwh=[60_000, 0],
        injected_kwh=[100_000, 400_000],
        tip_eur=[6_600, 0],
        with_grant=[False, False],
    )
    assert old_plant == Decimal("330.00")


def test_the_tip_matches_the_worked_examples():
    def eur(power_kw, pz, zone, kwh, grant=0.0):
        tip = tip_eur_per_mwh(DEFAULT_IT_PARAMS, power_kw=power_kw, zonal_eur_per_mwh=np.array([pz]),
                              geo_zone=zone, capital_grant_pct=grant)[0]
        return eco.to_money(tip * kwh / 1000)

    assert eur(150, 100, "south", 1_000) == Decimal("120.00")
    assert eur(100, 130, "north", 800) == Decimal("104.00")
    assert eur(800, 200, "north", 10_000) == Decimal("700.00")
    assert eur(50, 90, "north", 3_000, grant=40) == Decimal("195.00")


def test_a_cer_values_self_consumed_energy_at_tras_e_only():
    zonal = np.array([100.0, 50.0])
    cer = valorisation_eur_per_mwh(default_params("it_cer"), regime="it_cer", zonal_eur_per_mwh=zonal)
    assert cer.tolist() == [10.57, 10.57]  # 1,000 kWh -> 10.57 EUR, no BTAU
    # a group in one building adds BTAU 0.65 and avoided losses cPR 2.6 % x Pz
    auc = valorisation_eur_per_mwh(default_params("it_auc"), regime="it_auc", zonal_eur_per_mwh=zonal)
    assert auc == pytest.approx([10.57 + 0.65 + 2.6, 10.57 + 0.65 + 1.3])
    assert eco.to_money(auc[0] * 1_000 / 1000) == Decimal("13.82")


def test_the_simulation_values_shared_energy_with_the_configuration_rule():
    frame = simulate(_inputs(batteries=False)).intervals
    shared = frame["shared_kwh"].to_numpy()
    assert frame["valorisation_eur"].to_numpy() == pytest.approx(shared * 10.57 / 1000)
    auc_params = default_params("it_auc")
    inp = dataclasses.replace(_inputs(batteries=False), regime="it_auc", regime_params=auc_params)
    out = simulate(inp)
    shared, zonal = out.intervals["shared_kwh"].to_numpy(), out.prepared.zonal
    expected = shared * (10.57 + 0.65 + 0.026 * zonal) / 1000
    assert out.intervals["valorisation_eur"].to_numpy() == pytest.approx(expected)


def test_the_geographic_zone_comes_from_the_region():
    assert geo_zone_of_region(DEFAULT_IT_PARAMS, "Emilia-Romagna") == "north"
    assert geo_zone_of_region(DEFAULT_IT_PARAMS, "toscana") == "centre"
    assert geo_zone_of_region(DEFAULT_IT_PARAMS, "Abruzzo") == "centre"
    assert geo_zone_of_region(DEFAULT_IT_PARAMS, "Puglia") == "south"
    assert geo_zone_of_region(DEFAULT_IT_PARAMS, "Sardegna") == "south"
    with pytest.raises(ValueError):
        geo_zone_of_region(DEFAULT_IT_PARAMS, "Atlantis")


def test_the_regime_figures_have_one_source():
    from communities.regime_sets import TIP

    assert DEFAULT_IT_PARAMS == TIP


@pytest.mark.django_db
def test_the_plants_zone_follows_their_region_never_a_default(world, as_user, client, settings):
    from simulation.models import ScenarioPlant
    from simulation.tests.conftest import payload

    settings.SIMULATION_MAX_CONCURRENT_PER_USER = 100
    api = as_user(world.a.referent)
    no_region = payload()
    no_region.pop("region"), no_region["plants"][0].pop("region")
    response = api.post("/api/v1/simulation", no_region, format="json")
    assert response.status_code == 400 and "region is required" in response.json()["message"]
    for region, zone in (("Toscana", "centre"), ("Puglia", "south"), ("Veneto", "north")):
        body = payload(region=region)
        body["plants"][0].pop("region")  # the scenario's region applies
        assert api.post("/api/v1/simulation", body, format="json").status_code == 202
        assert ScenarioPlant.objects.order_by("-id").first().geo_zone == zone
    clash = payload(plants=[{"member": "pros", "lat": 41.1, "lon": 16.9, "kwp": 5, "region": "Puglia",
                             "geo_zone": "north"}])
    assert api.post("/api/v1/simulation", clash, format="json").status_code == 400
    # imported plants take the given region (community A is around Bologna)
    body = payload(community=world.a.community.pk, import_community=True, region="Emilia-Romagna")
    assert api.post("/api/v1/simulation", body, format="json").status_code == 202
    assert ScenarioPlant.objects.get(plant=world.a.plant).geo_zone == "north"
    body["region"] = "Lazio"
    api.post("/api/v1/simulation", body, format="json")
    assert ScenarioPlant.objects.filter(plant=world.a.plant).order_by("-id").first().geo_zone == "centre"
    # the portal's wizard sends the region it asks for (required for an Italian regime)
    from simulation.tests.test_portal import WIZARD

    client.force_login(world.a.vendor)
    page = client.post("/simulation/", {**WIZARD, "region": ""})
    assert page.status_code == 400 and "geographic correction" in page.content.decode()
    assert client.post("/simulation/", {**WIZARD, "region": "Sicilia"}).status_code == 302
    assert ScenarioPlant.objects.order_by("-id").first().geo_zone == "south"
