"""/metrics: Prometheus text, only with METRICS_TOKEN; request counts and latency by route and
status, readings ingested and dead-lettered per source, rollup lag, Celery queue length,
websocket connections; with several web processes, their counts add up."""

import re

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import override_settings
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from iot.ingest.service import ingest
from iot.testing.registry import make_device

AUTH = {"Authorization": f"Bearer {settings.METRICS_TOKEN}"}


def sample(text: str, name: str, **labels) -> float:
    """The value of one sample of the exposition, 0 when absent."""
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if "{" in line else {}
            if all(found.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def scrape(client) -> str:
    response = client.get("/metrics", headers=AUTH)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


@pytest.mark.django_db
def test_metrics_need_the_token(client):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": settings.METRICS_TOKEN}).status_code == 401
    with override_settings(METRICS_TOKEN=""):  # never open, even if the token were empty
        assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401


@pytest.mark.django_db
def test_requests_are_counted_by_route_and_status(world, client):
    before = scrape(client)
    bearer = {"Authorization": f"Bearer {AccessToken.for_user(world.a.referent)}"}
    client.get("/api/v1/iot/devices", headers=bearer)
    client.get(f"/api/v1/iot/devices/{987654}", headers=bearer)
    client.get("/api/v1/iot/devices")
    after = scrape(client)

    route = "/api/v1/iot/devices"
    for status in ("200", "401"):
        assert sample(after, "commonwatt_http_requests_total", route=route, status=status) - sample(
            before, "commonwatt_http_requests_total", route=route, status=status) == 1
    detail = "/api/v1/iot/devices/<int:pk>"  # the route pattern, never the raw path
    assert sample(after, "commonwatt_http_requests_total", route=detail, status="404") >= 1
    assert sample(after, "commonwatt_http_request_duration_seconds_count", route=route, status="200") >= 1
    # no label holds the raw path (a sample's value may contain those digits by chance: a
    # timestamp such as 1.7964857987654e+09, so only the labels are looked at)
    routes = set(re.findall(r'route="([^"]*)"', after))
    assert detail in routes and not any("987654" in r for r in routes)


@pytest.mark.django_db(transaction=True)
def test_readings_and_dead_letters_per_source_and_rollup_lag(world, client):
    meter, _ = make_device("MET-MTR-A", kind="meter", plant=world.a.plant)
    before = scrape(client)
    ingest([{"device": meter.serial, "metric": "power_w", "ts": timezone.now(), "value": 10.0},
            {"device": meter.serial, "metric": "power_w", "ts": timezone.now(), "value": float("nan")},
            {"device": "NOPE", "metric": "power_w", "ts": timezone.now(), "value": 1.0}], source="http")
    after = scrape(client)

    assert sample(after, "commonwatt_iot_readings_ingested_total", source="http") - sample(
        before, "commonwatt_iot_readings_ingested_total", source="http") == 1
    assert sample(after, "commonwatt_iot_readings_dead_lettered_total", source="http") - sample(
        before, "commonwatt_iot_readings_dead_lettered_total", source="http") == 2
    assert sample(after, "commonwatt_iot_dead_letters", source="http") == 2
    assert sample(after, "commonwatt_iot_rollup_lag_seconds") >= 0
    assert "commonwatt_iot_rollup_lag_seconds " in after
    assert "commonwatt_celery_queue_length{" in after


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_websocket_connections_are_a_live_gauge(world, async_client):
    from config.asgi import application

    meter, _ = await sync_to_async(make_device)("MET-WS-A", kind="meter", plant=world.a.plant)
    token = AccessToken.for_user(world.a.member)
    path = "/ws/telemetry/"

    async def gauge():
        response = await async_client.get("/metrics", headers=AUTH)
        return sample(response.content.decode(), "commonwatt_websocket_connections", path=path)

    start = await gauge()
    ws = WebsocketCommunicator(application, f"{path}?device={meter.pk}&token={token}",
                               headers=[(b"origin", b"http://testserver")])
    assert (await ws.connect())[0]
    await ws.receive_json_from(timeout=5)
    assert await gauge() == start + 1
    await ws.disconnect()
    assert await gauge() == start


@pytest.mark.django_db(transaction=True)
def test_celery_tasks_are_counted_with_their_duration(client):
    from iot.rollups.tasks import rollup_run_task

    name = "iot.rollups.tasks.rollup_run_task"
    before = scrape(client)
    rollup_run_task.apply()  # runs here, with the worker's task_prerun/task_postrun signals
    after = scrape(client)

    assert sample(after, "commonwatt_celery_tasks_total", task=name, state="SUCCESS") - sample(
        before, "commonwatt_celery_tasks_total", task=name, state="SUCCESS") == 1
    assert sample(after, "commonwatt_celery_task_duration_seconds_count", task=name) - sample(
        before, "commonwatt_celery_task_duration_seconds_count", task=name) == 1
