"""Issue 8, item 5: a simulation is bounded (members, plants, batteries, steps, CSV bytes:
a clear 400/413) and a user has at most SIMULATION_MAX_CONCURRENT_PER_USER active runs."""

import io
import json

import pytest

from simulation.models import RunStatus, Scenario, SimulationRun
from simulation.tests.conftest import payload

CSV_DAY = "timestamp,home\n" + "".join(f"2025-06-02T{h:02d}:00:00+02:00,0.5\n" for h in range(24))


def _multipart(client, csv_text: str, **scenario):
    upload = io.BytesIO(csv_text.encode())
    upload.name = "c.csv"
    body = {"name": "csv", "members": [], **scenario}
    return client.post(
        "/api/v1/simulation", {"scenario": json.dumps(body), "consumption": upload}, format="multipart"
    )


@pytest.mark.django_db
def test_it_bounds_members_plants_batteries_and_steps(world, as_user, settings):
    client = as_user(world.a.referent)
    settings.SIMULATION_MAX_MEMBERS = 2
    response = client.post("/api/v1/simulation", payload(), format="json")  # 3 members
    assert response.status_code == 400 and response.json()["error"] == "ValidationError"
    assert "members" in response.json()["details"] and "at most 2" in response.json()["message"]
    settings.SIMULATION_MAX_MEMBERS = 500
    settings.SIMULATION_MAX_PLANTS = 0
    response = client.post("/api/v1/simulation", payload(), format="json")
    assert response.status_code == 400 and "plants" in response.json()["details"]
    settings.SIMULATION_MAX_PLANTS = 200
    settings.SIMULATION_MAX_BATTERIES = 0
    response = client.post("/api/v1/simulation", payload(), format="json")
    assert response.status_code == 400 and "batteries" in response.json()["details"]
    settings.SIMULATION_MAX_BATTERIES = 200
    settings.SIMULATION_MAX_STEPS = 71  # the payload has 72 hourly steps
    response = client.post("/api/v1/simulation", payload(), format="json")
    assert response.status_code == 400 and "72 intervals" in response.json()["message"]
    settings.SIMULATION_MAX_STEPS = 72
    # members imported from the community count too (A has 2 members; the payload adds 3)
    settings.SIMULATION_MAX_MEMBERS = 4
    body = payload(community=world.a.community.pk, import_community=True)
    response = client.post("/api/v1/simulation", body, format="json")
    assert response.status_code == 400 and "members" in response.json()["details"]
    assert Scenario.objects.count() == 0 and SimulationRun.objects.count() == 0
    settings.SIMULATION_MAX_MEMBERS = 5
    assert client.post("/api/v1/simulation", body, format="json").status_code == 202


@pytest.mark.django_db
def test_it_bounds_the_steps_of_a_csv_scenario(world, as_user, settings):
    settings.SIMULATION_MAX_STEPS = 23
    response = _multipart(as_user(world.a.referent), CSV_DAY)
    assert response.status_code == 400 and "24 intervals" in response.json()["message"]
    assert Scenario.objects.count() == 0


@pytest.mark.django_db
def test_it_answers_413_to_an_oversized_csv(world, as_user, settings):
    client = as_user(world.a.referent)
    settings.SIMULATION_MAX_CSV_BYTES = len(CSV_DAY) - 1
    response = _multipart(client, CSV_DAY)
    assert response.status_code == 413
    assert response.json()["error"] == "PayloadTooLarge"
    assert response.json()["details"] == {"consumption": [f"larger than {len(CSV_DAY) - 1} bytes"]}
    # a body far above the limit is refused from its Content-Length, before it is parsed
    huge = "timestamp,home\n" + "2025-06-02T00:00:00Z,0.5\n" * 50_000
    response = _multipart(client, huge)
    assert response.status_code == 413 and "request has" in response.json()["message"]
    settings.SIMULATION_MAX_CSV_BYTES = len(CSV_DAY)
    assert _multipart(client, CSV_DAY).status_code == 202
    assert Scenario.objects.count() == 1


@pytest.mark.django_db
def test_it_limits_the_concurrent_runs_of_a_user(world, as_user, settings, client):
    settings.SIMULATION_MAX_CONCURRENT_PER_USER = 1
    referent = as_user(world.a.referent)
    first = referent.post("/api/v1/simulation", payload(), format="json")
    assert first.status_code == 202
    second = referent.post("/api/v1/simulation", payload(name="Second"), format="json")
    assert second.status_code == 429 and second.json()["error"] == "TooManyRequests"
    assert second["Retry-After"] == "30"
    assert not Scenario.objects.filter(name="Second").exists()  # nothing stored when refused
    rerun = referent.post("/api/v1/simulation", {"scenario": first.json()["scenario"]}, format="json")
    assert rerun.status_code == 429
    # the portal's wizard answers with the form, not a run
    client.force_login(world.a.referent)
    from simulation.tests.test_portal import WIZARD

    page = client.post("/simulation/", WIZARD)
    assert page.status_code == 400 and "at most 1 at a time" in page.content.decode()
    # another user is not affected; a finished run frees the slot
    assert as_user(world.a.vendor).post("/api/v1/simulation", payload(), format="json").status_code == 202
    SimulationRun.objects.filter(job=first.json()["job"]).update(status=RunStatus.DONE)
    assert referent.post("/api/v1/simulation", payload(name="Third"), format="json").status_code == 202
    assert SimulationRun.objects.filter(created_by=world.a.referent).count() == 2
