"""Load: the locust mix of benchmarks/locustfile.py, headless, against the web tier started
the documented way (scripts/web.sh: gunicorn + WEB_WORKERS uvicorn processes, DEBUG off),
with its own database `bench_commonwatt_load` (created, seeded, dropped at the end).

Seeds one community of 60 members (a plant with a meter and an inverter each, a day of
15-minute readings, rolled up) and its referent. Runs the same mix for one client alone,
then for `BENCH_LOAD_CLIENTS` (50) for `BENCH_LOAD_SECONDS` (30) each; reports requests/s,
p50/p95/p99 (ms) and errors, overall and per endpoint. The per-user API limit is lifted for
the run (API_USER_RATE empty): 50 clients of one user each would otherwise meet the 100/min.
Goal on the 2-core machine: >= 300 requests/s, p95 < 100 ms, 0 errors.
"""

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from django.conf import settings

from benchmarks.bench_query import bench_database

BENCH_DB = "bench_commonwatt_load"
ROOT = Path(__file__).resolve().parent.parent
MEMBERS = 60


def _seed() -> dict:
    from django.contrib.gis.geos import Point
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import Organization, User
    from communities.models import Community, Membership
    from iot.catalogue import metrics_ensure
    from iot.devices.services import device_create
    from iot.ingest.partitions import partitions_ensure
    from iot.ingest.service import ingest
    from iot.rollups.service import rollup_run
    from plants.models import Plant

    settings.MQTT_AUTO_SYNC_AUTH = False
    metrics_ensure()
    partitions_ensure(months_ahead=1, months_back=1)
    org = Organization.objects.create(name="Load", slug="load")
    community = Community.objects.create(name="Load", slug="load", organization=org, status="active")
    referent = User.objects.create_user(email="load-referent@example.com", password="Load-Pass-123!",
                                        username="load-referent", role="referent", is_verified=True)
    community.referents.add(referent)
    members, devices, readings = [], [], []
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=24)
    for i in range(MEMBERS):
        user = User.objects.create_user(email=f"load-{i}@example.com", password="Load-Pass-123!",
                                        username=f"load-{i}", is_verified=True)
        Membership.objects.create(user=user, community=community, joined_at=date(2025, 1, 1))
        plant = Plant.objects.create(name=f"Load {i}", owner=user, community=community,
                                     location=Point(11.34, 44.49, srid=4326), capacity_kwp=6)
        mine = []
        for kind in ("meter", "inverter"):
            device, secret = device_create(serial=f"LOAD-{kind[:3].upper()}-{i}", kind=kind, plant=plant,
                                           protocol="http", expected_interval_s=900)
            devices.append({"serial": device.serial, "secret": secret})
            mine.append(device.id)
            for k in range(96):
                ts = start + timedelta(minutes=15 * k)
                readings.append({"device": device.serial, "metric": "power_w", "ts": ts, "value": 100.0 + k})
                readings.append({"device": device.serial, "metric": "energy_import_kwh", "ts": ts,
                                 "value": 0.25 * k})
        members.append({"token": str(AccessToken.for_user(user)), "devices": mine})
    for k in range(0, len(readings), 10_000):
        ingest(readings[k:k + 10_000], source="import")
    rollup_run()
    return {"members": members, "referents": [{"token": str(AccessToken.for_user(referent))}],
            "devices": devices}


def _locust(base: str, data_file: str, clients: int, seconds: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        prefix = str(Path(tmp) / "run")
        subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(ROOT / "benchmarks" / "locustfile.py"), "--headless",
             "-u", str(clients), "-r", str(clients), "-t", f"{seconds}s", "--host", base, "--csv", prefix,
             "--only-summary", "--loglevel", "ERROR", "--stop-timeout", "5"],
            cwd=ROOT, env={**os.environ, "BENCH_LOAD_DATA": data_file}, check=False,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=seconds + 120,
        )
        with open(prefix + "_stats.csv") as f:
            rows = list(csv.DictReader(f))

    def figures(row) -> dict:
        return {"requests": int(row["Request Count"]), "errors": int(row["Failure Count"]),
                "requests_per_s": round(float(row["Requests/s"]), 1),
                "p50_ms": float(row["50%"]), "p95_ms": float(row["95%"]), "p99_ms": float(row["99%"])}

    total = next(r for r in rows if r["Name"] == "Aggregated")
    return {"clients": clients, "seconds": seconds, **figures(total),
            "endpoints": {f"{r['Type']} {r['Name']}": figures(r) for r in rows if r["Name"] != "Aggregated"}}


def run() -> dict:
    from core.testing import web_tier

    clients = int(os.environ.get("BENCH_LOAD_CLIENTS", "50"))
    seconds = int(os.environ.get("BENCH_LOAD_SECONDS", "30"))
    workers = int(os.environ.get("BENCH_LOAD_WORKERS", "0")) or int(os.environ.get("WEB_WORKERS", "0")) or \
        2 * (os.cpu_count() or 1)
    with bench_database(BENCH_DB) as db_name:
        started = time.perf_counter()
        data = _seed()
        seed_s = round(time.perf_counter() - started, 1)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(data, f)
        try:
            with web_tier(db_name, workers=workers, API_USER_RATE="", API_ANON_RATE="") as (base, _):
                single = _locust(base, f.name, 1, max(5, seconds // 3))
                loaded = _locust(base, f.name, clients, seconds)
        finally:
            os.unlink(f.name)
    return {"web_workers": workers, "cpus": os.cpu_count(), "seed_s": seed_s,
            "goal": {"requests_per_s": ">= 300", "p95_ms": "< 100", "errors": 0},
            "single_client": single, "load": loaded}
