"""HTTP ingest (django-ninja under uvicorn, as `make run` serves it): readings/s.

A uvicorn process on a free port (18847-18849) against the configured database; a client
posts batches of readings for devices `BENCH-HTTP-*` (removed afterwards): sequential
batches of 10,000 and 4 concurrent clients with batches of 500.
"""

import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import orjson
import requests
from django.conf import settings

BIG_BATCH, BIG_REQUESTS = 10_000, 8
SMALL_BATCH, SMALL_REQUESTS, CLIENTS = 500, 40, 4


def _free_port() -> int:
    for port in range(18847, 18850):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError("no free port in 18847-18849")


def _server(port: int) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--no-access-log", "--log-level", "warning"],
        cwd=settings.BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                requests.get(f"http://127.0.0.1:{port}/health", timeout=10)
                return process
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.1)
        raise RuntimeError("uvicorn did not start")
    except BaseException:
        process.kill()
        process.wait(10)
        raise


def _body(start: datetime, count: int, offset: int) -> bytes:
    return orjson.dumps([{"metric": "power_w", "ts": (start + timedelta(seconds=offset + i)).isoformat(),
                          "value": float(i % 100)} for i in range(count)])


def _post_all(url: str, serial: str, secret: str, bodies: list[bytes]) -> int:
    session = requests.Session()
    session.headers.update({"X-Device-Serial": serial, "X-Device-Secret": secret,
                            "Content-Type": "application/json"})
    accepted = 0
    for body in bodies:
        response = session.post(url, data=body, timeout=120)
        response.raise_for_status()
        accepted += response.json()["accepted"]
    return accepted


def run() -> dict:
    settings.MQTT_AUTO_SYNC_AUTH = False  # bench devices never go into the dev broker's files
    from iot.catalogue import metrics_ensure
    from iot.devices.services import device_create, device_delete
    from iot.ingest.partitions import partitions_ensure
    from iot.models import Device

    metrics_ensure()
    partitions_ensure(months_ahead=1, months_back=1)
    for device in Device.objects.filter(serial__startswith="BENCH-HTTP-"):
        device_delete(device=device)
    creds = [device_create(serial=f"BENCH-HTTP-{i}", kind="meter", protocol="http") for i in range(CLIENTS)]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    port = _free_port()
    server = _server(port)
    url = f"http://127.0.0.1:{port}/api/v1/iot/ingest"
    try:
        device, secret = creds[0]
        bodies = [_body(start, BIG_BATCH, k * BIG_BATCH) for k in range(BIG_REQUESTS)]
        started = time.perf_counter()
        big_accepted = _post_all(url, device.serial, secret, bodies)
        big_s = time.perf_counter() - started

        results = [0] * CLIENTS
        # A day later than the big batches (which span 22 hours): nothing collides.
        day2 = start + timedelta(days=1)
        bodies = [_body(day2, SMALL_BATCH, k * SMALL_BATCH) for k in range(SMALL_REQUESTS)]

        def client(i):
            device, secret = creds[i]
            results[i] = _post_all(url, device.serial, secret, bodies)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        small_s = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(10)
        for device in Device.objects.filter(serial__startswith="BENCH-HTTP-"):
            device_delete(device=device)
    return {
        "batch_10000_readings_per_s": round(big_accepted / big_s),
        "batch_10000_accepted": big_accepted,
        f"clients_{CLIENTS}_batch_{SMALL_BATCH}_readings_per_s": round(sum(results) / small_s),
        f"clients_{CLIENTS}_batch_{SMALL_BATCH}_accepted": sum(results),
    }
