"""Live latency: a reading committed by the ingest service -> its frame received by a
websocket client, p95 ms, through a real ASGI server (uvicorn) and the Redis pub/sub layer.

The client (`websockets`) subscribes to one device with a JWT; the benchmark process ingests
one reading at a time and marks the instant of commit with an on_commit callback registered
before the ingest's own (callbacks run in order), so the figure is commit -> received and
excludes the insert itself. Own database, as bench_query.
"""

import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction

from benchmarks.bench_query import asgi_server, bench_database, bench_tenant

SAMPLES = 100


def _ingest_marked(device, ts: datetime, value: float) -> float:
    """Ingest one reading; returns the perf_counter instant its transaction committed."""
    from iot.ingest.service import ingest

    committed = []
    with transaction.atomic():
        transaction.on_commit(lambda: committed.append(time.perf_counter()))
        ingest([{"device": device.serial, "metric": "power_w", "ts": ts, "value": value}], source="http")
    return committed[0]


def _close_connection() -> None:
    """Close the worker thread's own connection (the proxy resolves per thread)."""
    connection.close()


async def _measure(host: str, token: str, device) -> list[float]:
    import orjson
    import websockets
    from asgiref.sync import sync_to_async

    url = f"ws://{host}/ws/telemetry/?device={device.pk}&token={token}"
    latencies = []
    async with websockets.connect(url, origin=f"http://{host}") as ws:
        assert orjson.loads(await ws.recv())["type"] == "subscribed"
        start = datetime.now(UTC) - timedelta(minutes=30)
        for i in range(SAMPLES + 5):
            ts = start + timedelta(seconds=i)
            receiving = asyncio.ensure_future(ws.recv())
            committed = await sync_to_async(_ingest_marked, thread_sensitive=True)(device, ts, float(i))
            frame = orjson.loads(await asyncio.wait_for(receiving, 10))
            received = time.perf_counter()
            assert frame["readings"][0]["ts"] == ts.isoformat(), frame
            if i >= 5:  # warm-up
                latencies.append(received - committed)
    await sync_to_async(_close_connection, thread_sensitive=True)()
    return latencies


def run() -> dict:
    from rest_framework_simplejwt.tokens import AccessToken

    with bench_database() as db_name:
        user, device = bench_tenant("ws")
        token = str(AccessToken.for_user(user))
        with asgi_server(db_name) as host:
            latencies = asyncio.run(_measure(host, token, device))
        connection.close()
    ms = sorted(x * 1000 for x in latencies)
    return {
        "samples": len(ms),
        "commit_to_frame_p50_ms": round(statistics.median(ms), 1),
        "commit_to_frame_p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 1),
        "commit_to_frame_max_ms": round(ms[-1], 1),
        "goal_p95_ms": 500,
    }
