"""`GET /api/v1/iot/stream?device=|plant=|community=`: server-sent events for clients that
prefer SSE to websockets.

The DRF view authenticates (JWT or session) and scopes the request like the websocket
(same `live_group_for`); the body is an async generator that Django's ASGI handler drives
on the event loop: it joins the Channels group, relays each `telemetry.readings` message as
an `event: readings`, sends a `: heartbeat` comment every IOT_SSE_HEARTBEAT_S seconds
so proxies keep the connection, and leaves the group when the client disconnects (Django
cancels the generator on `http.disconnect`).
"""

import asyncio

import orjson
from channels.layers import get_channel_layer
from django.conf import settings
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.views import APIView

from core.errors import ApiError
from iot.live.scope import LiveRefused, live_frame, live_group_for

EVENT_EXAMPLE = (
    'event: readings\ndata: {"type":"readings","device":7,"serial":"MTR-1","plant":3,"community":1,'
    '"readings":[{"metric":"power_w","ts":"2026-05-01T12:00:00+00:00","value":830.0}]}\n\n'
)


def heartbeat_s() -> float:
    return float(settings.IOT_SSE_HEARTBEAT_S)


async def sse_events(group: str, kind: str, pk: int):
    """The event stream of one group; cleans its subscription up however it ends."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    pending = None
    try:
        yield b"retry: 3000\n" + b"event: subscribed\ndata: " + orjson.dumps({kind: pk}) + b"\n\n"
        while True:
            if pending is None:
                # a receive cancelled mid-wait would unsubscribe the channel (channels_redis
                # pubsub), so one receive task lives across heartbeats
                pending = asyncio.ensure_future(layer.receive(channel))
            done, _ = await asyncio.wait({pending}, timeout=heartbeat_s())
            if not done:
                yield b": heartbeat\n\n"
                continue
            message, pending = pending.result(), None
            yield b"event: readings\ndata: " + orjson.dumps(live_frame(message)) + b"\n\n"
    finally:
        if pending is not None:
            pending.cancel()
        await layer.group_discard(group, channel)


class EventStreamRenderer(BaseRenderer):
    """Lets DRF accept `Accept: text/event-stream` (EventSource sends it); only an error
    envelope is ever rendered through it, as JSON."""

    media_type = "text/event-stream"
    format = "sse"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return orjson.dumps(data)


class TelemetryStreamView(APIView):
    renderer_classes = [JSONRenderer, EventStreamRenderer]
    # authentication is checked below so that an anonymous client gets the 401 envelope
    # (not a 403 from DRF's permission layer)
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["telemetry"], summary="Live readings as server-sent events",
        description="One `readings` event per device per committed batch (the same frames as "
                    "the websocket ws/telemetry/), `: heartbeat` comments in between. Exactly one of "
                    "device, plant, community; community only for its referents.",
        parameters=[OpenApiParameter("device", OpenApiTypes.INT), OpenApiParameter("plant", OpenApiTypes.INT),
                    OpenApiParameter("community", OpenApiTypes.INT)],
        responses={
            (200, "text/event-stream"): OpenApiResponse(response=OpenApiTypes.STR, description=EVENT_EXAMPLE),
            400: OpenApiTypes.OBJECT, 401: OpenApiTypes.OBJECT, 403: OpenApiTypes.OBJECT,
            404: OpenApiTypes.OBJECT,
        },
    )
    def get(self, request):
        try:
            group, kind, pk = live_group_for(request.user, request.query_params)
        except LiveRefused as refused:
            names = {400: "ValidationError", 401: "NotAuthenticated", 403: "PermissionDenied",
                     404: "NotFound"}
            raise ApiError(refused.message, error=names[refused.status], status_code=refused.status)
        response = StreamingHttpResponse(sse_events(group, kind, pk), content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
        return response
