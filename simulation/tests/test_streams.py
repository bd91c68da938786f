"""Issue 8, items 5 and 6: the simulation's websocket and SSE progress streams check the
right to see the run again periodically (4403 when it is gone), have a maximum lifetime,
and carry progress only (never names or euro amounts)."""

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from simulation.models import SimulationRun
from simulation.tests.test_api import _events
from simulation.tests.test_member_view import _manager_run


def _communicator(job, user):
    from simulation.routing import websocket_urlpatterns

    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/simulation/{job}/")
    communicator.scope["user"] = user
    return communicator


def _leave(membership):
    membership.left_at = timezone.now().date()
    membership.save(update_fields=["left_at"])


async def _close_code(communicator, timeout=5):
    out = await communicator.receive_output(timeout=timeout)
    while out["type"] != "websocket.close":
        out = await communicator.receive_output(timeout=timeout)
    return out.get("code")


@pytest.mark.django_db(transaction=True)
async def test_the_websocket_closes_4403_when_the_member_leaves(world, settings):
    settings.SIMULATION_STREAM_RECHECK_S = 0.05
    run = await sync_to_async(_manager_run)(world, status="running")
    communicator = _communicator(run.job, world.a.member)
    connected, _ = await communicator.connect()
    assert connected
    first = await communicator.receive_json_from(timeout=5)
    assert set(first) == {"job", "status", "percent", "stage", "message"}  # progress only
    assert await communicator.receive_nothing(timeout=0.2)  # still allowed: stays open
    await sync_to_async(_leave)(world.a.membership)
    assert await _close_code(communicator) == 4403
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_websocket_closes_4403_when_the_account_is_suspended(world, settings):
    settings.SIMULATION_STREAM_RECHECK_S = 0.05
    run = await sync_to_async(_manager_run)(world, status="running")
    communicator = _communicator(run.job, world.a.referent)
    assert (await communicator.connect())[0]
    await communicator.receive_json_from(timeout=5)
    user = world.a.referent
    user.is_active = False
    await sync_to_async(user.save)(update_fields=["is_active"])
    assert await _close_code(communicator) == 4403
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_websocket_has_a_maximum_lifetime(world, settings):
    settings.SIMULATION_WS_MAX_S = 0.3
    run = await sync_to_async(_manager_run)(world, status="running")
    communicator = _communicator(run.job, world.a.member)
    assert (await communicator.connect())[0]
    await communicator.receive_json_from(timeout=5)
    assert await _close_code(communicator, timeout=3) == 4408
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
def test_the_sse_stream_ends_when_the_right_to_see_the_run_is_gone(world, as_user, settings):
    settings.SIMULATION_SSE_POLL_S = 0.01
    settings.SIMULATION_STREAM_RECHECK_S = 0
    run = _manager_run(world, status="running")
    response = as_user(world.a.member).get(f"/api/v1/simulation/progress?job={run.job}")
    assert response.status_code == 200
    _leave(world.a.membership)
    events = _events(response)
    assert events[-1] == ("forbidden", {"code": 4403, "message": "You may no longer see this run."})
    assert SimulationRun.objects.get(pk=run.pk).status == "running"


@pytest.mark.django_db(transaction=True)
def test_the_sse_stream_has_a_maximum_lifetime_and_carries_progress_only(world, as_user, settings):
    settings.SIMULATION_SSE_POLL_S = 0.01
    settings.SIMULATION_SSE_MAX_S = 0.2
    run = _manager_run(world, status="running")
    events = _events(as_user(world.a.member).get(f"/api/v1/simulation/progress?job={run.job}"))
    assert events[0][0] == "progress"
    assert set(events[0][1]) == {"job", "status", "percent", "stage", "message"}
    assert events[-1][0] == "timeout"
