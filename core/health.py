"""Service checks behind GET /health: database, Redis and the Celery broker."""

import time

import redis
from django.conf import settings
from django.db import connection
from kombu import Connection

TIMEOUT_S = 2.0


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # any failure of the dependency is its status, not our 500
        return {"status": "down", "error": type(exc).__name__}
    return {"status": "up", "latency_ms": round((time.perf_counter() - started) * 1000, 1)}


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _redis():
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S
    )
    try:
        client.ping()
    finally:
        client.close()


def _broker():
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=TIMEOUT_S) as conn:
        conn.ensure_connection(max_retries=1, timeout=TIMEOUT_S)


def health_report() -> tuple[bool, dict]:
    checks = {"database": _timed(_database), "redis": _timed(_redis), "broker": _timed(_broker)}
    ok = all(c["status"] == "up" for c in checks.values())
    return ok, {"status": "ok" if ok else "degraded", "checks": checks}
