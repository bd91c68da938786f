"""Issue 8, item 5: simulations run on their own queue (they never starve the default
queue's beat tasks), and a beat sweep fails runs a dead worker left queued or running."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from simulation.models import RunStatus, SimulationRun
from simulation.tests.conftest import payload, wait_for

LONG = payload(
    start="2025-01-01T00:00:00+01:00",
    end="2025-05-01T00:00:00+02:00",  # four months at 15 min: busy for a while, cancels fast
    resolution_minutes=15,
    batteries=[
        {"member": "pros", "capacity_kwh": 10, "power_kw": 5},
        {"member": "home", "capacity_kwh": 5, "power_kw": 3},
    ],
    plants=[
        {"member": "pros", "lat": 44.49, "lon": 11.34, "kwp": 20},
        {"member": "home", "lat": 44.49, "lon": 11.34, "kwp": 4},
    ],
)


def test_it_routes_the_simulation_task_to_its_own_queue(settings):
    from config.celery import app

    assert settings.SIMULATION_QUEUE != settings.CELERY_TASK_DEFAULT_QUEUE
    assert app.amqp.router.route({}, "simulation.run")["queue"].name == settings.SIMULATION_QUEUE
    for beat_task in ("iot.tasks.device_commands_expire_task", "simulation.sweep_stuck"):
        assert app.amqp.router.route({}, beat_task)["queue"].name == settings.CELERY_TASK_DEFAULT_QUEUE


@pytest.mark.django_db(transaction=True)
def test_beat_tasks_run_while_a_simulation_occupies_its_worker(world, as_user, default_worker_process):
    from simulation.tasks import simulation_sweep_stuck_task

    client = as_user(world.a.vendor)
    job = client.post("/api/v1/simulation", LONG, format="json").json()["job"]
    # only the simulation worker consumes the simulation queue: the run starts there
    wait_for(lambda: SimulationRun.objects.filter(job=job, status="running").exists(), timeout=60, step=0.02)
    stuck = _run(world, created_at=timezone.now() - timedelta(days=2))
    simulation_sweep_stuck_task.delay()  # a beat task: default queue, the other worker (process)
    wait_for(lambda: SimulationRun.objects.get(pk=stuck.pk).status == RunStatus.FAILED, timeout=120)
    assert SimulationRun.objects.get(job=job).status == RunStatus.RUNNING  # still busy meanwhile
    assert client.post(f"/api/v1/simulation/{job}/cancel").status_code == 202
    # it stops at its next stage or LP window (slow on a loaded machine)
    wait_for(lambda: SimulationRun.objects.get(job=job).status == RunStatus.CANCELLED, timeout=200)


def _run(world, **fields):
    from simulation.serializers import ScenarioIn
    from simulation.services import scenario_create

    serializer = ScenarioIn(data=payload())
    serializer.is_valid(raise_exception=True)
    scenario = scenario_create(actor=world.a.vendor, data=serializer.validated_data)
    run = SimulationRun.objects.create(scenario=scenario, created_by=world.a.vendor)
    SimulationRun.objects.filter(pk=run.pk).update(**fields)
    return run


@pytest.mark.django_db
def test_the_beat_sweep_fails_runs_left_by_a_dead_worker(world, settings):
    from config.beat import BEAT_TASKS, beat_sync
    from simulation.tasks import simulation_sweep_stuck_task
    from simulation.worker import run_execute

    settings.SIMULATION_STUCK_AFTER_S = 600
    now = timezone.now()
    old = now - timedelta(seconds=601)
    queued_old = _run(world, created_at=old)
    queued_new = _run(world)
    running_dead = _run(world, status=RunStatus.RUNNING, started_at=old, heartbeat_at=old)
    running_alive = _run(world, status=RunStatus.RUNNING, started_at=old, heartbeat_at=now)
    done = _run(world, status=RunStatus.DONE, created_at=old, heartbeat_at=old)

    entry = next(t for t in BEAT_TASKS if t["task"] == "simulation.sweep_stuck")
    assert entry.get("queue") is None  # the default queue, never behind a simulation
    beat_sync()
    from django_celery_beat.models import PeriodicTask

    assert PeriodicTask.objects.filter(task="simulation.sweep_stuck", enabled=True).exists()

    assert simulation_sweep_stuck_task.apply().get() == 2
    status = {r.pk: r for r in SimulationRun.objects.all()}
    assert status[queued_old.pk].status == RunStatus.FAILED
    assert "no progress for 600 s" in status[queued_old.pk].message
    assert status[running_dead.pk].status == RunStatus.FAILED
    assert status[running_dead.pk].finished_at is not None
    assert status[queued_new.pk].status == RunStatus.QUEUED
    assert status[running_alive.pk].status == RunStatus.RUNNING
    assert status[done.pk].status == RunStatus.DONE
    # a worker that picks the swept run up later leaves it failed
    assert run_execute(run_id=queued_old.pk).status == RunStatus.FAILED
    # the operators' command does the same; nothing is left to sweep
    out = StringIO()
    call_command("simulation_sweep_stuck", stdout=out)
    assert "0 stuck run(s) failed" in out.getvalue()
    # a swept run no longer counts against the quota
    assert SimulationRun.objects.active().filter(created_by=world.a.vendor).count() == 2
