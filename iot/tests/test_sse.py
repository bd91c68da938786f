"""GET /api/v1/iot/stream: server-sent events after ingest, heartbeats, scoping, cleanup."""

import asyncio

import pytest
import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings as django_settings
from django.test import AsyncClient
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from iot.ingest.service import device_group, ingest
from iot.testing.registry import make_device

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture
def meter(world):
    device, _ = make_device("SSE-MTR-A", kind="meter", plant=world.a.plant)
    return device


class Reader:
    """Drains a streaming response in a task, as Django's ASGI handler does; `cancel()` is
    what Django does to that task when the client disconnects (http.disconnect)."""

    def __init__(self, response):
        self.chunks: asyncio.Queue = asyncio.Queue()
        self.task = asyncio.create_task(self._drain(response))

    async def _drain(self, response):
        async for chunk in response.streaming_content:
            self.chunks.put_nowait(chunk)

    async def next(self, timeout=5.0) -> bytes:
        return await asyncio.wait_for(self.chunks.get(), timeout)

    async def cancel(self):
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def subscribers(group: str) -> int:
    client = aioredis.from_url(django_settings.REDIS_URL)
    try:
        prefix = django_settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
        return dict(await client.pubsub_numsub(f"{prefix}__group__{group}")).popitem()[1]
    finally:
        await client.aclose()


async def test_it_streams_an_event_after_ingest_and_cleans_up_on_disconnect(world, meter, settings):
    settings.IOT_SSE_HEARTBEAT_S = 0.3
    token = await sync_to_async(AccessToken.for_user)(world.a.member)

    headers = {"accept": "text/event-stream", "authorization": f"Bearer {token}"}

    response = await AsyncClient().get(f"/api/v1/iot/stream?device={meter.pk}", headers=headers)

    assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
    reader = Reader(response)
    assert b"event: subscribed" in await reader.next()
    assert await reader.next() == b": heartbeat\n\n"
    await sync_to_async(ingest)([{"device": meter.serial, "metric": "power_w", "ts": timezone.now(),
                                  "value": 777.0}], source="http")
    chunk = await reader.next()
    while chunk.startswith(b":"):  # a heartbeat may come first
        chunk = await reader.next()
    assert chunk.startswith(b"event: readings\ndata: ")
    assert b'"serial":"SSE-MTR-A"' in chunk and b'"value":777.0' in chunk
    assert await subscribers(device_group(meter.pk)) == 1

    await reader.cancel()  # the client goes away

    assert await subscribers(device_group(meter.pk)) == 0


async def test_it_hides_other_communities(world, meter):
    async def status(user, query):
        client = AsyncClient()
        if user is not None:
            await client.aforce_login(user)
        response = await client.get(f"/api/v1/iot/stream?{query}")
        return response.status_code, response.json()["error"]

    assert await status(world.b.member, f"device={meter.pk}") == (404, "NotFound")
    assert await status(world.a.other_member, f"device={meter.pk}") == (404, "NotFound")
    assert await status(world.a.member, f"community={world.a.community.pk}") == (403, "PermissionDenied")
    assert await status(None, f"device={meter.pk}") == (401, "NotAuthenticated")
    assert await status(world.a.member, "device=x") == (400, "ValidationError")
