"""HTTP ingest (django-ninja): device authentication, batches, per-item answers, envelope."""

import base64
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from iot.models import DeadLetter
from iot.testing.registry import make_device, stored_readings

pytestmark = pytest.mark.django_db


@pytest.fixture
def meter(world):
    device, secret = make_device("MTR-H1", kind="meter", protocol="http", plant=world.a.plant)
    return device, secret


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


def post(path, body, *, serial=None, secret=None, basic=None, raw=None, content_type="application/json"):
    headers = {}
    if serial is not None:
        headers["HTTP_X_DEVICE_SERIAL"] = serial
    if secret is not None:
        headers["HTTP_X_DEVICE_SECRET"] = secret
    if basic is not None:
        headers["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(basic.encode()).decode()
    data = raw if raw is not None else json.dumps(body)
    return Client().post(path, data, content_type=content_type, **headers)


@pytest.mark.parametrize("path", ["/api/v1/iot/ingest", "/api/v1/iot/data"])
def test_it_stores_a_batch_and_answers_counts(meter, now, path):
    device, secret = meter
    body = {"readings": [
        {"metric": "power_w", "ts": now.isoformat(), "value": 900},
        {"metric": "energy_import_kwh", "ts": now.isoformat(), "value": 10.5},
        {"metric": "soc_pct", "ts": now.isoformat(), "value": 101},
        {"metric": "nope", "ts": now.isoformat(), "value": 1},
    ]}

    response = post(path, body, serial="MTR-H1", secret=secret)

    assert response.status_code == 200
    answer = response.json()
    assert (answer["accepted"], answer["duplicate"], answer["rejected"]) == (2, 0, 2)
    assert [e["index"] for e in answer["errors"]] == [2, 3]
    assert "plausible range" in answer["errors"][0]["reason"]
    assert "unknown metric 'nope'" in answer["errors"][1]["reason"]
    assert len(stored_readings(device)) == 2
    assert DeadLetter.objects.filter(device=device, source="http").count() == 2


def test_a_retried_batch_is_all_duplicates(meter, now):
    _, secret = meter
    body = [{"metric": "power_w", "ts": (now - timedelta(seconds=i)).isoformat(), "value": i}
            for i in range(50)]
    assert post("/api/v1/iot/ingest", body, serial="MTR-H1", secret=secret).json()["accepted"] == 50
    again = post("/api/v1/iot/ingest", body, serial="MTR-H1", secret=secret).json()
    assert (again["accepted"], again["duplicate"]) == (0, 50)


def test_it_accepts_http_basic_and_the_values_shape(meter, now):
    device, secret = meter
    body = {"ts": now.isoformat(), "values": {"power_w": 1200, "voltage_v": 230.1}}
    response = post("/api/v1/iot/ingest", body, basic=f"MTR-H1:{secret}")
    assert response.status_code == 200 and response.json()["accepted"] == 2
    assert sorted(r[1] for r in stored_readings(device)) == ["power_w", "voltage_v"]


@pytest.mark.parametrize("auth", [
    {"serial": "MTR-H1", "secret": "wrong"},
    {"serial": "NOPE", "secret": "x"},
    {},
    {"basic": "MTR-H1:wrong"},
])
def test_it_refuses_unauthenticated_devices(meter, now, auth):
    response = post("/api/v1/iot/ingest", [{"metric": "power_w", "ts": now.isoformat(), "value": 1}], **auth)
    assert response.status_code == 401
    assert response.json() == {"error": "AuthenticationFailed", "message": "Unknown device or wrong secret.",
                               "status_code": 401, "details": {}}
    assert stored_readings() == [] and not DeadLetter.objects.exists()


def test_an_old_secret_stops_working_after_rotation(as_user, world, meter, now):
    device, secret = meter
    as_user(world.a.vendor).post(f"/api/v1/iot/devices/{device.pk}/rotate-secret")
    reading = [{"metric": "power_w", "ts": now.isoformat(), "value": 1}]
    assert post("/api/v1/iot/ingest", reading, serial="MTR-H1", secret=secret).status_code == 401


def test_a_device_cannot_send_readings_for_another_device(meter, world, now):
    _, secret = meter
    other, _ = make_device("MTR-H2", plant=world.b.plant)
    body = [{"device": "MTR-H2", "metric": "power_w", "ts": now.isoformat(), "value": 1}]

    answer = post("/api/v1/iot/ingest", body, serial="MTR-H1", secret=secret).json()

    assert answer["rejected"] == 1 and "does not match" in answer["errors"][0]["reason"]
    assert stored_readings(other) == []


@pytest.mark.parametrize(("raw", "status", "message"), [
    ("{not json", 400, "not valid JSON"),
    ('"hello"', 400, "expected a reading object"),
    ('{"readings": 3}', 400, '"readings" must be a list'),
    ("[]", 400, "no readings"),
])
def test_it_refuses_unusable_payloads_with_the_envelope(meter, raw, status, message):
    _, secret = meter
    response = post("/api/v1/iot/ingest", None, raw=raw, serial="MTR-H1", secret=secret)
    assert response.status_code == status
    body = response.json()
    assert body["error"] == "ValidationError" and message in body["message"]
    assert stored_readings() == []


def test_it_refuses_a_batch_over_the_limit(meter, now, settings):
    settings.IOT_MAX_BATCH = 100
    _, secret = meter
    body = [{"metric": "power_w", "ts": (now - timedelta(seconds=i)).isoformat(), "value": 1}
            for i in range(101)]
    response = post("/api/v1/iot/ingest", body, serial="MTR-H1", secret=secret)
    assert response.status_code == 413 and response.json()["error"] == "PayloadTooLarge"
    assert stored_readings() == []


def test_it_accepts_a_full_batch_of_ten_thousand(meter, now):
    device, secret = meter
    body = [{"metric": "power_w", "ts": (now - timedelta(seconds=i)).isoformat(), "value": i % 100}
            for i in range(10_000)]
    response = post("/api/v1/iot/ingest", body, serial="MTR-H1", secret=secret)
    assert response.status_code == 200 and response.json()["accepted"] == 10_000
    assert len(stored_readings(device)) == 10_000


def test_it_refuses_other_content_types(meter):
    _, secret = meter
    response = post("/api/v1/iot/ingest", None, raw="a=1", serial="MTR-H1", secret=secret,
                    content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


def test_the_device_api_has_its_own_docs(client):
    schema = client.get("/api/v1/iot/device-api/openapi.json").json()
    assert set(schema["paths"]) == {"/api/v1/iot/ingest", "/api/v1/iot/data"}
    assert client.get("/api/v1/iot/device-api/docs").status_code == 200
