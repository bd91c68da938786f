"""Portal: the scenario wizard and the run page."""

import pytest
from django.test import Client

from simulation.models import SimulationRun


def _client(user):
    client = Client()
    client.force_login(user)
    return client


WIZARD = {
    "name": "Our CER with a battery",
    "regime": "it_cer",
    "start": "2025-06-01",
    "days": "3",
    "resolution_minutes": "60",
    "simulated_households": "2",
    "household_kwh": "3000",
    "simulated_businesses": "1",
    "business_profile": "G0",
    "business_kwh": "12000",
    "new_pv_kwp": "25",
    "region": "Emilia-Romagna",
    "lat": "44.49",
    "lon": "11.34",
    "battery_kwh": "10",
    "battery_kw": "5",
}


@pytest.mark.django_db
def test_it_builds_a_scenario_from_the_wizard(world):
    client = _client(world.a.referent)
    page = client.get(f"/simulation/?community={world.a.community.pk}")
    assert page.status_code == 200
    assert world.a.plant.name in page.content.decode()
    data = {
        **WIZARD,
        "community": world.a.community.pk,
        "memberships": [world.a.membership.pk],
        "plants": [world.a.plant.pk],
    }
    response = client.post(f"/simulation/?community={world.a.community.pk}", data)
    assert response.status_code == 302
    run = SimulationRun.objects.get()
    assert response["Location"] == f"/simulation/runs/{run.job}/"
    scenario = run.scenario
    assert scenario.community == world.a.community
    assert scenario.members.count() == 1 + 2 + 1 + 1
    assert scenario.plants.count() == 2 and scenario.batteries.count() == 1
    assert scenario.plants.filter(plant=world.a.plant, member__membership=world.a.membership).exists()
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="sim-bar"' in html and "vendor/chart.umd.min.js" in html and "js/simulation.js" in html


@pytest.mark.django_db
def test_it_shows_wizard_errors_without_running(world):
    client = _client(world.a.member)
    response = client.post("/simulation/", {**WIZARD, "days": "0"})
    assert response.status_code == 400
    assert SimulationRun.objects.count() == 0


@pytest.mark.django_db
def test_it_hides_other_communities(world):
    client = _client(world.a.referent)
    response = client.post("/simulation/", {**WIZARD, "community": world.a.community.pk})
    job = SimulationRun.objects.get().job
    assert response.status_code == 302
    assert _client(world.b.referent).get(f"/simulation/runs/{job}/").status_code == 404
    assert _client(world.b.referent).get(f"/simulation/?community={world.a.community.pk}").status_code == 404
    assert _client(world.a.member).get(f"/simulation/runs/{job}/").status_code == 200


@pytest.mark.django_db
def test_it_scopes_scenarios_and_runs_in_the_back_office(world):
    client = _client(world.a.referent)
    client.post("/simulation/", {**WIZARD, "community": world.a.community.pk, "name": "Scenario of A"})
    run = SimulationRun.objects.get()
    own = _client(world.a.vendor)
    assert "Scenario of A" in own.get("/admin/simulation/scenario/").content.decode()
    assert own.get(f"/admin/simulation/simulationrun/{run.pk}/change/").status_code == 200
    outsider = _client(world.b.vendor)
    assert "Scenario of A" not in outsider.get("/admin/simulation/scenario/").content.decode()
    assert outsider.get(f"/admin/simulation/simulationrun/{run.pk}/change/").status_code in (302, 404)
