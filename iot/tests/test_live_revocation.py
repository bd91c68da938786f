"""Open live streams (ws/telemetry/ and the SSE /api/v1/iot/stream) re-check the right to see
their subject and end with 4403 when it is gone; they have a maximum lifetime (4408)."""

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient
from rest_framework_simplejwt.tokens import AccessToken

from iot.ingest.service import device_group
from iot.testing.registry import make_device
from iot.tests.test_live_ws import connect
from iot.tests.test_sse import Reader, subscribers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture
def meter(world):
    device, _ = make_device("REV-MTR-A", kind="meter", plant=world.a.plant)
    return device


@pytest.fixture
def fast_recheck(settings):
    settings.IOT_STREAM_RECHECK_S = 0.2
    settings.IOT_STREAM_MAX_LIFETIME_S = 60
    return settings


async def closed_with(ws, timeout=5) -> tuple[dict, int]:
    error = await ws.receive_json_from(timeout=timeout)
    closed = await ws.receive_output(timeout=timeout)
    assert closed["type"] == "websocket.close"
    return error, closed["code"]


async def test_a_referent_removed_from_the_community_is_cut_off_with_4403(world, meter, fast_recheck):
    ws = connect(f"community={world.a.community.pk}", world.a.referent)
    assert (await ws.connect())[0]
    await ws.receive_json_from(timeout=5)
    assert await ws.receive_nothing(timeout=0.6)  # re-checked, still allowed

    await sync_to_async(world.a.community.referents.remove)(world.a.referent)

    error, code = await closed_with(ws)
    assert code == 4403 and error["code"] == 4403 and error["type"] == "error"


async def test_a_suspended_member_is_cut_off_with_4403(world, meter, fast_recheck):
    ws = connect(f"device={meter.pk}", world.a.member)
    assert (await ws.connect())[0]
    await ws.receive_json_from(timeout=5)

    world.a.member.is_active = False
    await sync_to_async(world.a.member.save)(update_fields=["is_active"])

    assert (await closed_with(ws))[1] == 4403


async def test_a_websocket_ends_at_its_maximum_lifetime(world, meter, settings):
    settings.IOT_STREAM_RECHECK_S = 30
    settings.IOT_STREAM_MAX_LIFETIME_S = 0.5
    ws = connect(f"device={meter.pk}", world.a.member)
    assert (await ws.connect())[0]
    await ws.receive_json_from(timeout=5)

    error, code = await closed_with(ws)
    assert code == 4408 and "maximum lifetime" in error["message"]


async def sse(user, query):
    token = await sync_to_async(AccessToken.for_user)(user)
    headers = {"accept": "text/event-stream", "authorization": f"Bearer {token}"}
    response = await AsyncClient().get(f"/api/v1/iot/stream?{query}", headers=headers)
    assert response.status_code == 200
    reader = Reader(response)
    assert b"event: subscribed" in await reader.next()
    return reader


async def next_event(reader) -> bytes:
    chunk = await reader.next()
    while chunk.startswith(b":"):
        chunk = await reader.next()
    return chunk


async def test_sse_ends_with_4403_when_the_plant_changes_hands(world, meter, fast_recheck):
    reader = await sse(world.a.member, f"device={meter.pk}")

    world.a.plant.owner = world.a.other_member
    await sync_to_async(world.a.plant.save)(update_fields=["owner"])

    event = await next_event(reader)
    assert event.startswith(b"event: error\ndata: ") and b'"code":4403' in event
    await reader.task  # the stream ended by itself
    assert await subscribers(device_group(meter.pk)) == 0


async def test_sse_ends_at_its_maximum_lifetime(world, meter, settings):
    settings.IOT_SSE_HEARTBEAT_S = 0.2
    settings.IOT_STREAM_MAX_LIFETIME_S = 0.7
    reader = await sse(world.a.member, f"device={meter.pk}")

    event = await next_event(reader)
    assert b'"code":4408' in event
    await reader.task
