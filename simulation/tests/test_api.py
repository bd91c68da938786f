"""The API end to end: a real Celery worker runs the simulation; progress streams as SSE."""

import io
import json

import pytest
from asgiref.sync import async_to_sync

from simulation.models import Scenario, SimulationRun
from simulation.tests.conftest import payload, wait_for


async def _collect(chunks) -> list[bytes]:
    return [chunk async for chunk in chunks]


def _events(response) -> list[tuple[str, dict]]:
    """Read an SSE response to its end (the stream closes on the run's final event)."""
    body = b"".join(async_to_sync(_collect)(response.streaming_content)).decode()
    out = []
    for block in body.split("\n\n"):
        lines = dict(
            line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":")
        )
        if "event" in lines:
            out.append((lines["event"], json.loads(lines["data"])))
    return out


@pytest.mark.django_db(transaction=True)
def test_it_runs_a_scenario_on_a_worker_and_streams_progress(world, as_user, celery_worker_thread, settings):
    settings.SIMULATION_SSE_POLL_S = 0.01
    client = as_user(world.a.referent)
    started = client.post("/api/v1/simulation", payload(community=world.a.community.pk), format="json")
    assert started.status_code == 202, started.json()
    job = started.json()["job"]
    assert started.json()["websocket_url"] == f"/ws/simulation/{job}/"

    stream = client.get(f"/api/v1/simulation/progress?job={job}", HTTP_ACCEPT="text/event-stream")
    assert stream.status_code == 200
    assert stream["Content-Type"].startswith("text/event-stream")
    events = _events(stream)
    assert events[-1][0] == "done", events
    percents = [e["percent"] for _, e in events]
    assert percents == sorted(percents) and percents[-1] == 100
    assert any(0 < e["percent"] < 100 and name == "progress" for name, e in events), events

    detail = client.get(f"/api/v1/simulation/{job}").json()
    assert detail["status"] == "done" and detail["solver_status"] == "Optimal"
    results = detail["results"]
    assert results["period"]["intervals"] == 72
    assert results["total"]["shared_kwh"] > 0
    assert float(results["difference"]["objective_eur"]) >= 0
    assert {"npv_eur", "irr_pct", "simple_payback_years", "cash_flow"} <= set(results["economics"])
    assert len(results["monthly"]) == 1 and len(results["typical_day"]) == 24

    csv_response = client.get(f"/api/v1/simulation/{job}/results.csv")
    assert csv_response.status_code == 200 and csv_response["Content-Type"].startswith("text/csv")
    lines = csv_response.content.decode().splitlines()
    assert lines[0].startswith("interval_start,consumption_kwh,production_kwh")
    assert len(lines) == 73
    header = lines[0].split(",")
    shared = sum(float(line.split(",")[header.index("shared_kwh")]) for line in lines[1:])
    assert shared == pytest.approx(results["total"]["shared_kwh"], rel=1e-4)


@pytest.mark.django_db(transaction=True)
def test_it_cancels_a_running_simulation(world, as_user, celery_worker_thread):
    client = as_user(world.a.vendor)
    body = payload(
        start="2025-01-01T00:00:00+01:00",
        end="2025-12-31T00:00:00+01:00",
        resolution_minutes=15,
        batteries=[
            {"member": "pros", "capacity_kwh": 10, "power_kw": 5},
            {"member": "home", "capacity_kwh": 5, "power_kw": 3},
        ],
        plants=[
            {"member": "pros", "lat": 44.49, "lon": 11.34, "kwp": 20},
            {"member": "home", "lat": 44.49, "lon": 11.34, "kwp": 4},
        ],
    )
    started = client.post("/api/v1/simulation", body, format="json")
    job = started.json()["job"]
    wait_for(lambda: SimulationRun.objects.filter(job=job, status="running").exists(), timeout=60, step=0.02)
    cancelled = client.post(f"/api/v1/simulation/{job}/cancel")
    assert cancelled.status_code == 202
    events = _events(client.get(f"/api/v1/simulation/progress?job={job}"))
    assert events[-1][0] == "cancelled", events[-1]
    run = SimulationRun.objects.get(job=job)
    assert run.status == "cancelled" and not run.summary and run.intervals_npz is None
    again = client.post(f"/api/v1/simulation/{job}/cancel")
    assert again.status_code == 409 and again.json()["error"] == "Conflict"


@pytest.mark.django_db(transaction=True)
def test_it_fails_the_run_visibly_when_the_solver_times_out(world, as_user, celery_worker_thread, settings):
    settings.SIMULATION_LP_TIME_LIMIT_S = 1e-9
    client = as_user(world.a.referent)
    job = client.post("/api/v1/simulation", payload(), format="json").json()["job"]
    events = _events(client.get(f"/api/v1/simulation/progress?job={job}"))
    assert events[-1][0] == "failed"
    assert "could not be solved" in events[-1][1]["message"]
    detail = client.get(f"/api/v1/simulation/{job}").json()
    assert detail["status"] == "failed" and "time limit" in detail["solver_status"].lower()
    assert client.get(f"/api/v1/simulation/{job}/results.csv").status_code == 409


CSV_OK = "timestamp,home [kWh],shop\n" + "".join(
    f"2025-06-02T{h:02d}:00:00+02:00,{0.3 + h / 100:.2f},{1.0 + h / 50:.2f}\n" for h in range(24)
)


@pytest.mark.django_db(transaction=True)
def test_it_accepts_a_consumption_csv_upload(world, as_user, celery_worker_thread):
    client = as_user(world.a.member)
    scenario = payload(start=None, end=None)
    scenario.pop("start"), scenario.pop("end")
    scenario["members"] = [{"key": "pros", "profile": "H0", "annual_kwh": 3000}]
    upload = io.BytesIO(CSV_OK.encode())
    upload.name = "consumption.csv"
    started = client.post(
        "/api/v1/simulation", {"scenario": json.dumps(scenario), "consumption": upload}, format="multipart"
    )
    assert started.status_code == 202, started.json()
    job = started.json()["job"]
    assert _events(client.get(f"/api/v1/simulation/progress?job={job}"))[-1][0] == "done"
    results = client.get(f"/api/v1/simulation/{job}").json()["results"]
    assert results["period"]["intervals"] == 24
    expected = sum(0.3 + h / 100 for h in range(24)) + sum(1.0 + h / 50 for h in range(24))
    run = SimulationRun.objects.get(job=job)
    home = run.scenario.members.get(key="home")
    assert float(home.annual_kwh) == pytest.approx(sum(0.3 + h / 100 for h in range(24)), abs=0.01)
    assert results["total"]["consumption_kwh"] > expected  # plus the profiled prosumer


def _upload(client, text: str, **scenario):
    body = {"name": "csv", "members": [], **scenario}
    upload = io.BytesIO(text.encode())
    upload.name = "c.csv"
    return client.post(
        "/api/v1/simulation", {"scenario": json.dumps(body), "consumption": upload}, format="multipart"
    )


@pytest.mark.django_db
def test_it_names_the_row_and_column_of_every_csv_problem(world, as_user):
    bad = (
        "timestamp,home,shop (W)\n"
        "2025-06-02T00:00:00+02:00,0.4,100\n"
        "2025-06-02T01:00:00+02:00,-0.2,110\n"  # row 3: negative
        "2025-06-02T01:00:00+02:00,0.3,120\n"  # row 4: duplicate
        "2025-06-02T04:00:00+02:00,abc,130\n"  # row 5: gap + not a number
        "yesterday,0.3,140\n"  # row 6: bad timestamp
    )
    response = _upload(as_user(world.a.referent), bad)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "InvalidCSV"
    problems = {(p["row"], p["column"]): p["problem"] for p in body["details"]["problems"]}
    assert "wrong unit" in problems[(1, "shop (W)")]
    assert "negative" in problems[(3, "home")]
    assert "not a number" in problems[(5, "home")]
    assert "bad timestamp" in problems[(6, "timestamp")]
    assert Scenario.objects.count() == 0 and SimulationRun.objects.count() == 0


@pytest.mark.django_db
def test_it_reports_gaps_duplicates_and_magnitudes(world, as_user):
    bad = (
        "timestamp,home\n"
        "2025-06-02T00:00:00Z,400\n"
        "2025-06-02T01:00:00Z,300\n"
        "2025-06-02T01:00:00Z,350\n"  # row 4: duplicate
        "2025-06-02T05:00:00Z,5000\n"  # row 5: gap of 3, and Wh-like magnitude
    )
    response = _upload(as_user(world.a.referent), bad)
    problems = response.json()["details"]["problems"]
    assert {
        "row": 4,
        "column": "timestamp",
        "problem": "duplicate of row 3 (2025-06-02T01:00:00+00:00)",
    } in problems
    gap = next(p for p in problems if p["row"] == 5 and p["column"] == "timestamp")
    assert "gap: 3 missing" in gap["problem"]
    magnitude = next(p for p in problems if p["column"] == "home")
    assert magnitude["row"] == 5 and "look like W or Wh" in magnitude["problem"]
    assert SimulationRun.objects.count() == 0


@pytest.mark.django_db
def test_it_rejects_bad_json_scenarios_with_the_envelope(world, as_user):
    client = as_user(world.a.referent)
    response = client.post(
        "/api/v1/simulation",
        payload(batteries=[{"member": "nobody", "capacity_kwh": 5, "power_kw": 2}]),
        format="json",
    )
    assert response.status_code == 400 and response.json()["error"] == "ValidationError"
    assert "nobody" in response.json()["message"]
    bad_soc = payload(
        batteries=[
            {"member": "pros", "capacity_kwh": 5, "power_kw": 2, "soc_min_pct": 60, "soc_initial_pct": 50}
        ]
    )
    assert client.post("/api/v1/simulation", bad_soc, format="json").status_code == 400
    split = payload(statute={"producers_pct": 50, "consumers_pct": 40, "fund_pct": 5})
    assert "add up to 100" in client.post("/api/v1/simulation", split, format="json").json()["message"]
    long = payload(start="2025-01-01T00:00:00Z", end="2026-06-01T00:00:00Z")
    assert client.post("/api/v1/simulation", long, format="json").status_code == 400
    assert client.get("/api/v1/simulation/progress?job=nope").status_code == 400
    assert SimulationRun.objects.count() == 0


@pytest.mark.django_db
def test_it_hides_other_communities(world, as_user):
    from simulation.serializers import ScenarioIn
    from simulation.services import run_start, scenario_create

    serializer = ScenarioIn(data=payload(community=world.a.community.pk))
    serializer.is_valid(raise_exception=True)
    scenario = scenario_create(actor=world.a.referent, data=serializer.validated_data)
    run = run_start(actor=world.a.referent, scenario=scenario)
    outsider = as_user(world.b.vendor)
    for url in (
        f"/api/v1/simulation/{run.job}",
        f"/api/v1/simulation/{run.job}/results.csv",
        f"/api/v1/simulation/progress?job={run.job}",
    ):
        response = outsider.get(url)
        assert response.status_code == 404 and response.json()["error"] == "NotFound", url
    assert outsider.post(f"/api/v1/simulation/{run.job}/cancel").status_code == 404
    assert outsider.get("/api/v1/simulation").json()["total"] == 0
    assert as_user(world.a.member).get("/api/v1/simulation").json()["total"] == 1  # a member of A sees it
    # creating a scenario for B's community from A: not found; a member of B may not manage it
    assert (
        as_user(world.a.referent)
        .post("/api/v1/simulation", payload(community=world.b.community.pk), format="json")
        .status_code
        == 404
    )
    assert (
        as_user(world.b.member)
        .post("/api/v1/simulation", payload(community=world.b.community.pk), format="json")
        .status_code
        == 403
    )
    assert SimulationRun.objects.get(job=run.job).cancel_requested is False
    rerun = {"scenario": scenario.pk}
    assert as_user(world.b.referent).post("/api/v1/simulation", rerun, format="json").status_code == 404
    assert as_user(world.a.member).post("/api/v1/simulation", rerun, format="json").status_code == 403
    assert as_user(world.a.referent).post("/api/v1/simulation", rerun, format="json").status_code == 202
    assert SimulationRun.objects.filter(scenario=scenario).count() == 2


@pytest.mark.django_db
def test_it_keeps_standalone_prospects_to_their_creator_and_organization(world, as_user):
    from simulation.serializers import ScenarioIn
    from simulation.services import run_start, scenario_create

    serializer = ScenarioIn(data=payload())
    serializer.is_valid(raise_exception=True)
    scenario = scenario_create(actor=world.a.vendor, data=serializer.validated_data)
    run = run_start(actor=world.a.vendor, scenario=scenario)
    from conftest import make_user

    colleague = make_user("colleague-a@example.com", "vendor", organization=world.a.organization)
    assert as_user(colleague).get(f"/api/v1/simulation/{run.job}").status_code == 200
    for user in (world.b.vendor, world.a.member, world.a.referent):
        assert as_user(user).get(f"/api/v1/simulation/{run.job}").status_code == 404


def test_it_lists_every_endpoint_in_the_openapi_schema():
    from django.urls import include, path
    from drf_spectacular.generators import SchemaGenerator

    # The simulation's own URL module, mounted as config/urls.py mounts it.
    generator = SchemaGenerator(patterns=[path("api/v1/", include("simulation.api_urls"))])
    paths = generator.get_schema(request=None, public=True)["paths"]
    assert {
        "/api/v1/simulation",
        "/api/v1/simulation/progress",
        "/api/v1/simulation/{job}",
        "/api/v1/simulation/{job}/results.csv",
        "/api/v1/simulation/{job}/cancel",
    } <= set(paths)
    assert "text/event-stream" in paths["/api/v1/simulation/progress"]["get"]["responses"]["200"]["content"]
    assert "text/csv" in paths["/api/v1/simulation/{job}/results.csv"]["get"]["responses"]["200"]["content"]
    assert "multipart/form-data" in paths["/api/v1/simulation"]["post"]["requestBody"]["content"]


@pytest.mark.django_db
def test_it_rejects_a_bad_multipart_scenario(world, as_user):
    client = as_user(world.a.referent)
    for scenario, message in (("not json", "not valid JSON"), ("[1, 2]", "JSON object")):
        upload = io.BytesIO(CSV_OK.encode())
        upload.name = "c.csv"
        response = client.post(
            "/api/v1/simulation", {"scenario": scenario, "consumption": upload}, format="multipart"
        )
        assert response.status_code == 400 and message in response.json()["message"]
    response = client.post("/api/v1/simulation", {"scenario": "{}"}, format="multipart")
    assert response.status_code == 400 and response.json()["details"] == {"consumption": ["missing"]}
    quarter = "timestamp,home\n2025-06-02T00:00:00Z,0.1\n2025-06-02T00:15:00Z,0.1\n2025-06-02T00:45:00Z,0.1\n"
    response = _upload(client, quarter, resolution_minutes="15")
    assert response.json()["details"]["problems"] == [
        {
            "row": 4,
            "column": "timestamp",
            "problem": "gap: 1 missing interval(s) after 2025-06-02T00:15:00+00:00",
        }
    ]
    assert SimulationRun.objects.count() == 0
