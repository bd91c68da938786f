"""Issue 8, item 5: a member of a community reads a manager's run on it.

Members see the aggregate results and their own line of the statute split, never the names
or euro amounts of the others; they may not cancel a manager's run (403, visible but not
manageable); an outsider gets 404 for everything."""

import pytest

from simulation.models import RunStatus, SimulationRun
from simulation.tests.conftest import payload

SUMMARY = {
    "total": {"shared_kwh": 12.5, "incentive_eur": "3.10"},
    "economics": {"npv_eur": "100.00"},
    "split": {
        "revenue_eur": "10.00",
        "producers_eur": "5.00",
        "consumers_eur": "4.50",
        "fund_eur": "0.50",
        "excess_premium_eur": "0.00",
        "members": [],
    },
}


def _manager_run(world, status=RunStatus.DONE):
    """A referent of A runs a scenario of A with A's members imported (names: Member a, Other a)."""
    from simulation.serializers import ScenarioIn
    from simulation.services import scenario_create

    serializer = ScenarioIn(data=payload(community=world.a.community.pk, import_community=True))
    serializer.is_valid(raise_exception=True)
    scenario = scenario_create(actor=world.a.referent, data=serializer.validated_data)
    lines = []
    for i, m in enumerate(scenario.members.all()):
        lines.append({"key": m.key, "name": m.name, "producer_eur": f"{i}.25", "consumer_eur": "1.00",
                      "total_eur": f"{i + 1}.25"})
    summary = {**SUMMARY, "split": {**SUMMARY["split"], "members": lines}}
    return SimulationRun.objects.create(scenario=scenario, created_by=world.a.referent, status=status,
                                        summary=summary if status == RunStatus.DONE else {})


@pytest.mark.django_db
def test_it_shows_a_member_only_the_aggregates_and_their_own_line(world, as_user):
    run = _manager_run(world)
    own_key = run.scenario.members.get(membership=world.a.membership).key
    other_key = run.scenario.members.get(membership__user=world.a.other_member).key
    body = as_user(world.a.member).get(f"/api/v1/simulation/{run.job}").json()
    results = body["results"]
    assert results["total"] == SUMMARY["total"] and results["split"]["revenue_eur"] == "10.00"
    assert [m["key"] for m in results["split"]["members"]] == [own_key]
    text = str(body)
    other_line = next(m for m in run.summary["split"]["members"] if m["key"] == other_key)
    assert "Other a" not in text and other_key not in text
    assert other_line["total_eur"] not in [m["total_eur"] for m in results["split"]["members"]]
    # the managers still read every line
    full = as_user(world.a.referent).get(f"/api/v1/simulation/{run.job}").json()["results"]
    assert len(full["split"]["members"]) == len(run.summary["split"]["members"]) >= 3
    assert as_user(world.a.vendor).get(f"/api/v1/simulation/{run.job}").json()["results"] == run.summary


@pytest.mark.django_db
def test_it_hides_the_names_in_the_run_list_csv_and_portal(world, as_user, client):
    run = _manager_run(world)
    member = as_user(world.a.member)
    assert "Other a" not in member.get("/api/v1/simulation").content.decode()
    client.force_login(world.a.member)
    page = client.get(f"/simulation/runs/{run.job}/")
    assert page.status_code == 200 and "Other a" not in page.content.decode()
    assert 'id="sim-cancel"' not in page.content.decode()  # no cancel button for who cannot cancel
    client.force_login(world.a.referent)
    assert 'id="sim-cancel"' in client.get(f"/simulation/runs/{run.job}/").content.decode()


@pytest.mark.django_db
def test_it_lets_only_managers_cancel_a_run(world, as_user):
    run = _manager_run(world, status=RunStatus.QUEUED)
    response = as_user(world.a.member).post(f"/api/v1/simulation/{run.job}/cancel")
    assert response.status_code == 403 and response.json()["error"] == "PermissionDenied"
    response = as_user(world.a.other_member).post(f"/api/v1/simulation/{run.job}/cancel")
    assert response.status_code == 403
    assert as_user(world.b.referent).post(f"/api/v1/simulation/{run.job}/cancel").status_code == 404
    assert as_user(world.b.member).post(f"/api/v1/simulation/{run.job}/cancel").status_code == 404
    run.refresh_from_db()
    assert run.cancel_requested is False and run.status == RunStatus.QUEUED
    assert as_user(world.a.vendor).post(f"/api/v1/simulation/{run.job}/cancel").status_code == 202
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED


@pytest.mark.django_db
def test_it_lets_a_member_cancel_their_own_standalone_run(world, as_user):
    client = as_user(world.a.member)
    from simulation.serializers import ScenarioIn
    from simulation.services import scenario_create

    serializer = ScenarioIn(data=payload())
    serializer.is_valid(raise_exception=True)
    scenario = scenario_create(actor=world.a.member, data=serializer.validated_data)
    run = SimulationRun.objects.create(scenario=scenario, created_by=world.a.member)
    assert client.post(f"/api/v1/simulation/{run.job}/cancel").status_code == 202
    assert as_user(world.a.referent).post(f"/api/v1/simulation/{run.job}/cancel").status_code == 404


@pytest.mark.django_db
def test_it_scopes_every_id_in_the_body_to_the_caller(world, as_user, client):
    """Item 4 for simulations: community, membership and plant ids are the caller's."""
    referent = as_user(world.a.referent)
    foreign = [
        payload(community=world.a.community.pk,
                members=[{"key": "x", "membership": world.b.membership.pk}], plants=[], batteries=[]),
        payload(community=world.a.community.pk, plants=[
            {"member": "pros", "plant": world.b.plant.pk, "lat": 44.49, "lon": 11.34, "kwp": 3}]),
        payload(members=[{"key": "x", "membership": world.a.membership.pk}], plants=[], batteries=[]),
    ]
    for body in foreign:
        response = referent.post("/api/v1/simulation", body, format="json")
        assert response.status_code == 400, response.json()
    world.a.membership.left_at = world.a.membership.joined_at
    world.a.membership.save(update_fields=["left_at"])
    body = payload(community=world.a.community.pk,
                   members=[{"key": "x", "membership": world.a.membership.pk}], plants=[], batteries=[])
    assert referent.post("/api/v1/simulation", body, format="json").status_code == 400
    assert SimulationRun.objects.count() == 0
    # the wizard offers and accepts only the picked community's members and plants
    client.force_login(world.a.referent)
    from simulation.tests.test_portal import WIZARD

    page = client.get(f"/simulation/?community={world.a.community.pk}").content.decode()
    assert world.b.plant.name not in page and "Member b" not in page
    response = client.post(f"/simulation/?community={world.a.community.pk}",
                           {**WIZARD, "community": world.a.community.pk, "plants": [world.b.plant.pk]})
    assert response.status_code == 400 and SimulationRun.objects.count() == 0
    # a member sees the community but may not simulate it: 403; an outsider: 404
    client.force_login(world.a.other_member)
    assert client.get(f"/simulation/?community={world.a.community.pk}").status_code == 403
    client.force_login(world.b.referent)
    assert client.get(f"/simulation/?community={world.a.community.pk}").status_code == 404


@pytest.mark.django_db
def test_the_back_office_shows_a_staff_member_only_what_they_manage(world, client):
    """A referent of B who is also a member of A reads A's runs redacted, not in the admin."""
    from datetime import date

    from communities.models import Membership

    run = _manager_run(world)
    Membership.objects.create(user=world.b.referent, community=world.a.community, joined_at=date(2025, 1, 1))
    client.force_login(world.b.referent)
    assert client.get(f"/api/v1/simulation/{run.job}").status_code == 200
    assert run.scenario.name not in client.get("/admin/simulation/scenario/").content.decode()
    assert client.get(f"/admin/simulation/simulationrun/{run.pk}/change/").status_code in (302, 404)
    assert client.get(f"/admin/simulation/scenario/{run.scenario.pk}/change/").status_code in (302, 404)
    client.force_login(world.a.referent)
    assert client.get(f"/admin/simulation/simulationrun/{run.pk}/change/").status_code == 200
