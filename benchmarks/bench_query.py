"""Telemetry query speed: one device, one year of 15-minute data, `resolution=auto`, p95 ms
through the HTTP endpoint of a real ASGI server (uvicorn, DEBUG off, JWT), as a client sees it.

Runs in its own database `bench_commonwatt_q` (created and migrated, dropped at the end).
The year is loaded through the ingest service (the one write path) and rolled up by the
rollup service; both timings are reported too. `bench_ws` reuses the helpers here.
"""

import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection

from core.testing import MANDATORY

BENCH_DB = "bench_commonwatt_q"
REQUESTS = 200
ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def bench_database(name: str = BENCH_DB):
    """A fresh, migrated database for the duration of the block (the test-database machinery
    with our own name); the configured database is untouched and restored afterwards."""
    old_name = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=False)
    try:
        yield name
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def asgi_server(db_name: str, *, pool: bool = True):
    """uvicorn serving config.asgi on a free port against `db_name`, DEBUG off; with `pool`,
    the psycopg connection pool (DB_POOL=1) when psycopg-pool is installed."""
    port = _free_port()
    db = settings.DATABASES["default"]
    env = {
        **os.environ, "DEBUG": "0", "SECURE_SSL_REDIRECT": "0", "LOG_LEVEL": "WARNING",
        "SECRET_KEY": settings.SECRET_KEY, "JWT_SIGNING_KEY": settings.SIMPLE_JWT["SIGNING_KEY"],
        "MQTT_PASSWORD": settings.MQTT_PASSWORD, "EMAIL_URL": "consolemail://",
        "METRICS_TOKEN": settings.METRICS_TOKEN,
        "MQTT_SIMULATOR_PASSWORD": getattr(settings, "MQTT_SIMULATOR_PASSWORD", "bench"),
        "DATABASE_URL": f"postgis://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST'] or '127.0.0.1'}:"
                        f"{db['PORT'] or 5432}/{db_name}",
        "DB_CONN_MAX_AGE": "0", "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DB_POOL": "1" if pool and has_pool() else "0",
    }
    for name in MANDATORY:  # every other secret production requires
        env.setdefault(name, str(getattr(settings, name, "")) or "x" * 40)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port",
         str(port), "--log-level", "warning", "--no-access-log", "--lifespan", "off"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        for _ in range(200):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            if proc.poll() is not None:
                raise RuntimeError("uvicorn exited: " + proc.stderr.read().decode()[-2000:])
            time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def has_pool() -> bool:
    import importlib.util

    return importlib.util.find_spec("psycopg_pool") is not None


def bench_tenant(tag: str):
    """A community (Europe/Rome), its member and plant, and one meter on the plant."""
    from django.contrib.gis.geos import Point

    from accounts.models import Organization, User
    from communities.models import Community, Membership
    from iot.catalogue import metrics_ensure
    from iot.devices.services import device_create
    from plants.models import Plant

    metrics_ensure()
    org = Organization.objects.create(name=f"Bench {tag}", slug=f"bench-{tag}")
    community = Community.objects.create(name=f"Bench {tag}", slug=f"bench-{tag}", organization=org,
                                         status="active")
    user = User.objects.create_user(email=f"bench-{tag}@example.com", password="Bench-Pass-123!",
                                    username=f"bench-{tag}", is_verified=True)
    Membership.objects.create(user=user, community=community, joined_at=date(2024, 1, 1))
    plant = Plant.objects.create(name=f"Bench {tag}", owner=user, community=community,
                                 location=Point(11.34, 44.49, srid=4326), capacity_kwp=6)
    device, _ = device_create(serial=f"BENCH-{tag.upper()}", kind="meter", plant=plant,
                              expected_interval_s=900)
    return user, device


def _load_year(device, end: datetime) -> tuple[int, float]:
    from iot.ingest.service import ingest

    start = end - timedelta(days=365)
    steps = int((end - start) / timedelta(minutes=15))
    items = []
    for i in range(steps):
        ts = start + timedelta(minutes=15 * i)
        items.append({"device": device.serial, "metric": "power_w", "ts": ts,
                      "value": 400.0 + (i * 37) % 2600})
        items.append({"device": device.serial, "metric": "energy_import_kwh", "ts": ts, "value": 0.1 * i})
    started = time.perf_counter()
    for k in range(0, len(items), 10_000):
        ingest(items[k:k + 10_000], source="import")
    return len(items), time.perf_counter() - started


def _steady_rollup(tenant_device, end: datetime, devices: int = 500) -> dict:
    """The beat task's every-minute work: `devices` meters x 4 metrics with today's 15-minute
    history already rolled up, then one new reading each; time of that rollup run."""
    from iot.devices.services import device_create
    from iot.ingest.service import ingest
    from iot.rollups.service import rollup_run

    codes = ["power_w", "voltage_v", "energy_import_kwh", "energy_export_kwh"]
    meters = [device_create(serial=f"BENCH-ROLL-{i}", kind="meter", plant=tenant_device.plant,
                            expected_interval_s=900)[0] for i in range(devices)]
    day = end - timedelta(hours=23)
    history = [{"device": m.serial, "metric": c, "ts": day + timedelta(minutes=15 * k), "value": 10.0 + k}
               for m in meters for c in codes for k in range(92)]
    for k in range(0, len(history), 10_000):
        ingest(history[k:k + 10_000], source="import")
    rollup_run()
    minute = [{"device": m.serial, "metric": c, "ts": end, "value": 200.0} for m in meters for c in codes]
    ingest(minute, source="import")
    started = time.perf_counter()
    result = rollup_run()
    return {"devices": devices, "readings": len(minute), "ranges": result.ranges,
            "rollup_s": round(time.perf_counter() - started, 2)}


def _percentiles(samples_s: list[float]) -> dict:
    ms = sorted(s * 1000 for s in samples_s)
    return {"p50_ms": round(statistics.median(ms), 1), "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 1),
            "max_ms": round(ms[-1], 1)}


def _time_requests(session, url: str, n: int) -> tuple[dict, dict]:
    body = None
    for _ in range(10):  # warm up connections and caches
        body = session.get(url, timeout=10).json()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        response = session.get(url, timeout=10)
        response.content  # noqa: B018 - the full body is part of the request time
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text[:300]
    return _percentiles(samples), body


def _span(start: datetime, end: datetime) -> str:
    return f"start={start.isoformat()}&end={end.isoformat()}".replace("+", "%2B")


def run() -> dict:
    import requests
    from rest_framework_simplejwt.tokens import AccessToken

    from iot.rollups.service import rollup_run

    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    with bench_database() as db_name:
        user, device = bench_tenant("q")
        readings, ingest_s = _load_year(device, end)
        started = time.perf_counter()
        rollup_run()
        rollup_s = time.perf_counter() - started
        steady = _steady_rollup(device, end)
        token = str(AccessToken.for_user(user))
        connection.close()  # the server has its own connections
        results = {}
        for pool in ([True, False] if has_pool() else [False]):
            with asgi_server(db_name, pool=pool) as host, requests.Session() as session:
                session.headers["Authorization"] = f"Bearer {token}"
                series = f"http://{host}/api/v1/iot/devices/{device.pk}/timeseries"
                year = _span(end - timedelta(days=365), end)
                week = _span(end - timedelta(days=7), end)
                auto, body = _time_requests(session, f"{series}?{year}&metric=power_w&resolution=auto",
                                            REQUESTS)
                energy, energy_body = _time_requests(
                    session, f"{series}?{year}&metric=energy_import_kwh&resolution=1d", 50)
                raw, raw_body = _time_requests(session, f"{series}?{week}&metric=power_w&resolution=raw", 50)
            results["pooled" if pool else "unpooled"] = {
                "auto_year": {"resolution": body["resolution"], "points": body["points"], **auto},
                "daily_energy_year": {"points": energy_body["points"], **energy},
                "raw_week": {"points": raw_body["points"], **raw},
            }
    return {
        "readings_loaded": readings,
        "ingest_readings_per_s": round(readings / ingest_s),
        "rollup_year_s": round(rollup_s, 2),
        "rollup_one_minute": steady,
        **results,
        "goal_auto_year_p95_ms": 50,
        "requests": REQUESTS,
    }
