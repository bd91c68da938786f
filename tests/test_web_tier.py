"""The web tier started the documented way (scripts/web.sh: gunicorn, WEB_WORKERS uvicorn
processes) serves the API from several processes, and a websocket frame produced in another
process (here: the test's own ingest) reaches clients on every worker."""

import contextlib
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken
from websockets.sync.client import connect

from core.testing import web_tier, worker_pids
from iot.ingest.service import ingest
from iot.testing.registry import make_device

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


def test_two_workers_serve_the_api_and_a_frame_from_another_process(world):
    meter, _ = make_device("WEB-MTR-A", kind="meter", plant=world.a.plant)
    token = str(AccessToken.for_user(world.a.referent))
    with web_tier(connection.settings_dict["NAME"], workers=2) as (base, master):
        assert len(worker_pids(master.pid)) == 2
        headers = {"Authorization": f"Bearer {token}"}

        def get(path):
            response = requests.get(base + path, headers=headers, timeout=30)
            return response.status_code, response.json()

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(get, ["/api/v1/members", "/api/v1/iot/devices"] * 8))
        assert {status for status, _ in answers} == {200}
        assert any(d["serial"] == "WEB-MTR-A" for _, body in answers[1::2] for d in body["items"])

        ws_url = base.replace("http://", "ws://") + f"/ws/telemetry/?device={meter.pk}&token={token}"
        with contextlib.ExitStack() as stack:
            sockets = [stack.enter_context(connect(ws_url, origin=base, open_timeout=30)) for _ in range(4)]
            for ws in sockets:
                assert json.loads(ws.recv(timeout=10)) == {"type": "subscribed", "device": meter.pk}
            time.sleep(0.3)  # the group subscriptions reach Redis
            ingest([{"device": meter.serial, "metric": "power_w", "ts": timezone.now(), "value": 777.0}],
                   source="http")
            for ws in sockets:
                frame = json.loads(ws.recv(timeout=10))
                assert frame["type"] == "readings" and frame["device"] == meter.pk
                assert [r["value"] for r in frame["readings"]] == [777.0]


def test_the_workers_come_from_the_environment_and_their_metrics_add_up(db, tmp_path):
    from django.conf import settings

    from core.tests.test_metrics import sample

    multiproc = tmp_path / "prometheus"
    with web_tier(connection.settings_dict["NAME"], workers=3, PROMETHEUS_MULTIPROC_DIR=multiproc,
                  API_ANON_RATE="") as (
            base, master):
        assert len(worker_pids(master.pid)) == 3
        # workers boot one after the other (a busy machine: seconds apart); send until at
        # least two of them have answered, i.e. have written their own metric files
        sent, deadline = 0, time.monotonic() + 90
        with ThreadPoolExecutor(6) as pool:
            while len({p.name.rsplit("_", 1)[1] for p in multiproc.glob("counter_*.db")}) < 2:
                assert time.monotonic() < deadline, "a second worker never answered"
                statuses = list(pool.map(
                    lambda _: requests.get(base + "/api/v1/members", timeout=30).status_code, range(12)))
                assert statuses == [401] * 12
                sent += 12
        scraped = requests.get(base + "/metrics", timeout=30,
                               headers={"Authorization": f"Bearer {settings.METRICS_TOKEN}"})
        assert scraped.status_code == 200
        # every worker's requests, whichever answered the scrape
        assert sample(scraped.text, "commonwatt_http_requests_total", route="/api/v1/members",
                      status="401") == sent
