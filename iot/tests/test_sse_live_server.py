"""The SSE stream against a real server (uvicorn in a subprocess, the test database): an
event arrives after ingest, and when the HTTP client disconnects the server leaves the
Channels group (bounded waits throughout)."""

import time

import pytest
import redis
import requests
from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from benchmarks.bench_query import asgi_server
from iot.ingest.service import device_group, ingest
from iot.testing.registry import make_device

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def group_subscribers(group: str) -> int:
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
        return client.pubsub_numsub(f"{prefix}__group__{group}")[0][1]
    finally:
        client.close()


def wait_for(predicate, timeout=10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_a_client_gets_events_and_its_disconnect_ends_the_stream(world):
    meter, _ = make_device("SSE-LIVE-A", kind="meter", plant=world.a.plant)
    token = AccessToken.for_user(world.a.member)
    group = device_group(meter.pk)

    with asgi_server(connection.settings_dict["NAME"], pool=False) as host:
        response = requests.get(f"http://{host}/api/v1/iot/stream?device={meter.pk}", stream=True, timeout=10,
                                headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"})
        assert response.status_code == 200
        lines = response.iter_lines()
        assert next(lines) == b"retry: 3000" and next(lines) == b"event: subscribed"
        assert wait_for(lambda: group_subscribers(group) == 1)

        ingest([{"device": meter.serial, "metric": "power_w", "ts": timezone.now(), "value": 42.0}],
               source="http")
        event = [next(lines) for _ in range(4)]  # data of "subscribed", blank, event, data
        assert event[2] == b"event: readings" and b'"value":42.0' in event[3]

        response.close()  # the client goes away

        assert wait_for(lambda: group_subscribers(group) == 0)
