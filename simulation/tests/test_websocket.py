"""ws/simulation/<job>/: the portal's progress stream, scoped like the API."""

import pytest
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.db import transaction

from config.asgi import application
from simulation.models import SimulationRun


def _run(world):
    from simulation.serializers import ScenarioIn
    from simulation.services import scenario_create
    from simulation.tests.conftest import payload

    serializer = ScenarioIn(data=payload(community=world.a.community.pk))
    serializer.is_valid(raise_exception=True)
    with transaction.atomic():
        scenario = scenario_create(actor=world.a.referent, data=serializer.validated_data)
        SimulationRun.objects.all().delete()
        return SimulationRun.objects.create(scenario=scenario, created_by=world.a.referent)


def _communicator(job, user):
    from simulation.routing import websocket_urlpatterns

    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/simulation/{job}/")
    communicator.scope["user"] = user
    return communicator


@pytest.mark.django_db(transaction=True)
async def test_it_pushes_progress_events_to_the_portal(world):
    from asgiref.sync import sync_to_async

    from simulation.worker import run_execute

    run = await sync_to_async(_run)(world)
    communicator = _communicator(run.job, world.a.member)
    connected, _ = await communicator.connect()
    assert connected
    first = await communicator.receive_json_from(timeout=5)
    assert first == {
        "job": str(run.job),
        "status": "queued",
        "percent": 0.0,
        "stage": "queued",
        "message": "",
    }
    await sync_to_async(run_execute)(run_id=run.pk)  # the task's body; events go out on commit
    stages, last = [], None
    while last is None or last["status"] not in ("done", "failed"):
        last = await communicator.receive_json_from(timeout=30)
        stages.append(last["stage"])
    assert last["status"] == "done" and last["percent"] == 100
    assert {"starting", "profiles", "baseline", "optimal", "results", "saving", "done"} <= set(stages)
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_it_hides_other_communities(world):
    from asgiref.sync import sync_to_async

    run = await sync_to_async(_run)(world)
    communicator = _communicator(run.job, world.b.referent)
    connected, code = await communicator.connect()
    assert not connected and code == 4404
    from django.contrib.auth.models import AnonymousUser

    anonymous = _communicator(run.job, AnonymousUser())
    connected, code = await anonymous.connect()
    assert not connected and code == 4401


@pytest.mark.django_db(transaction=True)
async def test_it_is_served_by_the_project_asgi_application(world):
    """The route is mounted in config/routing.py (auth by ?token= JWT)."""
    from asgiref.sync import sync_to_async
    from rest_framework_simplejwt.tokens import AccessToken

    run = await sync_to_async(_run)(world)
    token = await sync_to_async(lambda: str(AccessToken.for_user(world.a.referent)))()
    communicator = WebsocketCommunicator(
        application, f"/ws/simulation/{run.job}/?token={token}", headers=[(b"origin", b"http://localhost")]
    )
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["job"] == str(run.job)
    await communicator.disconnect()
