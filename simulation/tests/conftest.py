"""Simulation fixtures: a real Celery worker (in a thread, Redis broker, test database) and
small scenarios (a few days hourly) that keep the suite lean."""

import time

import pytest


@pytest.fixture
def celery_worker_thread(transactional_db, settings):
    """A real worker consuming the simulation queue (as the Procfile's `simworker`); tasks see
    committed rows of the test DB."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    app.control.purge()
    _purge(app, settings.SIMULATION_QUEUE)
    with start_worker(
        app,
        pool="solo",
        perform_ping_check=False,
        loglevel="WARNING",
        shutdown_timeout=60,
        queues=[settings.SIMULATION_QUEUE],
        hostname=f"sim-{settings.SIMULATION_QUEUE}@test",
    ):
        yield app


def _purge(app, queue: str) -> None:
    """Drop messages a previous test left on the simulation queue (runs it never executed)."""
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        channel.queue_declare(queue=queue, durable=True, auto_delete=False)
        channel.queue_purge(queue)


@pytest.fixture
def default_worker_process(celery_worker_thread, settings):
    """The Procfile's `worker` (default queue, where beat tasks go) as its own process on the
    test database, beside the in-process simulation worker. (Two Redis-consuming workers
    cannot share one process: kombu's poller is per process.)"""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from django.db import connection

    db = connection.settings_dict
    env = {
        **os.environ,
        "TESTING": "1",
        "DATABASE_URL": f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "SIMULATION_QUEUE": settings.SIMULATION_QUEUE,
    }
    root = Path(__file__).resolve().parents[2]
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=WARNING",
         "-Q", settings.CELERY_TASK_DEFAULT_QUEUE, "-n", f"default-{settings.CELERY_TASK_DEFAULT_QUEUE}@test",
         "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=root, env=env,
    )
    try:
        name = f"default-{settings.CELERY_TASK_DEFAULT_QUEUE}@test"
        app = celery_worker_thread
        wait_for(lambda: app.control.ping(destination=[name], timeout=1.0), timeout=90, step=0.5)
        yield worker
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def payload(**overrides) -> dict:
    """Three June days in Bologna: two households, one prosumer with PV and a battery."""
    body = {
        "name": "Three June days",
        "start": "2025-06-02T00:00:00+02:00",
        "end": "2025-06-05T00:00:00+02:00",
        "resolution_minutes": 60,
        "regime": "it_cer",
        "region": "Emilia-Romagna",  # Bologna: the TIP's geographic correction of the North
        "seed": 7,
        "members": [
            {"key": "pros", "name": "Prosumer", "profile": "H0", "annual_kwh": 3500},
            {"key": "home", "name": "Household", "profile": "H0", "annual_kwh": 2800},
            {"key": "shop", "name": "Shop", "profile": "G0", "annual_kwh": 9000, "business": True},
        ],
        "plants": [
            {"member": "pros", "lat": 44.49, "lon": 11.34, "kwp": 20, "commissioned_on": "2024-05-01",
             "region": "Emilia-Romagna"},
        ],
        "batteries": [{"member": "pros", "capacity_kwh": 10, "power_kw": 5}],
    }
    body.update(overrides)
    return body


def wait_for(predicate, timeout: float = 60.0, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition not met in time")
