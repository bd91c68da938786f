"""ws/telemetry/: authenticated, scoped like the read API, Origin checked; a frame per batch."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from config.asgi import application
from iot.ingest.service import ingest
from iot.testing.registry import make_device

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

ORIGIN = (b"origin", b"http://testserver")


@pytest.fixture
def meter(world):
    device, _ = make_device("WS-MTR-A", kind="meter", plant=world.a.plant)
    return device


@pytest.fixture
def meter_b(world):
    device, _ = make_device("WS-MTR-B", kind="meter", plant=world.b.plant)
    return device


def connect(query: str, user=None, origin=ORIGIN) -> WebsocketCommunicator:
    if user is not None:
        query += f"&token={AccessToken.for_user(user)}"
    return WebsocketCommunicator(application, f"/ws/telemetry/?{query}", headers=[origin])


async def refused_with(communicator) -> int:
    connected, _ = await communicator.connect()
    assert connected
    error = await communicator.receive_json_from(timeout=5)
    closed = await communicator.receive_output(timeout=5)
    assert closed["type"] == "websocket.close" and error["code"] == closed["code"]
    return closed["code"]


async def test_it_pushes_a_frame_after_ingest_commits(world, meter):
    ws = connect(f"device={meter.pk}", world.a.member)
    connected, _ = await ws.connect()
    assert connected
    assert await ws.receive_json_from(timeout=5) == {"type": "subscribed", "device": meter.pk}
    now = timezone.now().replace(microsecond=0)

    await sync_to_async(ingest)([
        {"device": meter.serial, "metric": "power_w", "ts": now, "value": 1234.0},
        {"device": meter.serial, "metric": "voltage_v", "ts": now, "value": 230.5},
    ], source="http")

    frame = await ws.receive_json_from(timeout=5)
    assert frame["type"] == "readings" and frame["device"] == meter.pk
    assert frame["plant"] == world.a.plant.pk and frame["community"] == world.a.community.pk
    assert sorted((r["metric"], r["value"]) for r in frame["readings"]) == [("power_w", 1234.0),
                                                                           ("voltage_v", 230.5)]
    assert await ws.receive_nothing(timeout=0.3)  # one aggregated frame per device and batch
    await ws.disconnect()


async def test_a_referent_follows_the_whole_community(world, meter):
    ws = connect(f"community={world.a.community.pk}", world.a.referent)
    assert (await ws.connect())[0]
    await ws.receive_json_from(timeout=5)

    await sync_to_async(ingest)([{"device": meter.serial, "metric": "power_w", "ts": timezone.now(),
                                  "value": 10.0}], source="http")

    assert (await ws.receive_json_from(timeout=5))["serial"] == "WS-MTR-A"
    await ws.disconnect()


async def test_a_plant_owner_follows_the_plant_over_a_session_cookie(world, meter, client):
    await sync_to_async(client.force_login)(world.a.member)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    ws = WebsocketCommunicator(application, f"/ws/telemetry/?plant={world.a.plant.pk}",
                               headers=[ORIGIN, (b"cookie", cookie)])
    assert (await ws.connect())[0]
    assert await ws.receive_json_from(timeout=5) == {"type": "subscribed", "plant": world.a.plant.pk}

    await sync_to_async(ingest)([{"device": meter.serial, "metric": "power_w", "ts": timezone.now(),
                                  "value": 11.0}], source="mqtt")

    assert (await ws.receive_json_from(timeout=5))["readings"][0]["value"] == 11.0
    await ws.disconnect()


async def test_it_hides_other_communities(world, meter, meter_b):
    assert await refused_with(connect(f"device={meter_b.pk}", world.a.member)) == 4404
    assert await refused_with(connect(f"device={meter.pk}", world.b.referent)) == 4404
    assert await refused_with(connect(f"device={meter.pk}", world.a.other_member)) == 4404
    assert await refused_with(connect(f"plant={world.b.plant.pk}", world.a.referent)) == 4404
    assert await refused_with(connect(f"community={world.b.community.pk}", world.a.referent)) == 4404


async def test_a_member_cannot_follow_the_whole_community(world):
    assert await refused_with(connect(f"community={world.a.community.pk}", world.a.member)) == 4403


async def test_it_refuses_anonymous_and_bad_parameters(world, meter):
    assert await refused_with(connect(f"device={meter.pk}")) == 4401
    assert await refused_with(WebsocketCommunicator(
        application, f"/ws/telemetry/?device={meter.pk}&token=not-a-jwt", headers=[ORIGIN])) == 4401
    assert await refused_with(connect("device=abc", world.a.member)) == 4400
    assert await refused_with(connect(f"device={meter.pk}&plant=1", world.a.member)) == 4400


async def test_it_refuses_a_foreign_origin(world, meter):
    ws = connect(f"device={meter.pk}", world.a.member, origin=(b"origin", b"https://evil.example"))

    connected, _ = await ws.connect()

    assert not connected
