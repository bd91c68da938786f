"""`GET /api/v1/iot/stream?device=|plant=|community=`: server-sent events for clients that
prefer SSE to websockets.

The DRF view authenticates (JWT or session) and scopes the request like the websocket
(same `live_group_for`); the body is an async generator that Django's ASGI handler drives
on the event loop: it joins the Channels group, relays each `telemetry.readings` message as
an `event: readings`, sends a `: heartbeat` comment every IOT_SSE_HEARTBEAT_S seconds
so proxies keep the connection, and leaves the group when the client disconnects (Django
cancels the generator on `http.disconnect`). Every IOT_STREAM_RECHECK_S seconds it checks
again that the user may still follow the subject (else `event: error` with code 4403 and
the stream ends); after IOT_STREAM_MAX_LIFETIME_S it ends with `event: error` code 4408
(EventSource reconnects, authenticating afresh).
"""

import asyncio
import time

import orjson
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.views import APIView

from core.errors import ApiError
from iot.live.scope import (
    LIFETIME_CLOSE_CODE,
    LiveRefused,
    live_frame,
    live_group_for,
    live_recheck,
    stream_max_lifetime_s,
    stream_recheck_s,
)

EVENT_EXAMPLE = (
    'event: readings\ndata: {"type":"readings","device":7,"serial":"MTR-1","plant":3,"community":1,'
    '"readings":[{"metric":"power_w","ts":"2026-05-01T12:00:00+00:00","value":830.0}]}\n\n'
)


def heartbeat_s() -> float:
    return float(settings.IOT_SSE_HEARTBEAT_S)


def _error_event(code: int, message: str) -> bytes:
    body = orjson.dumps({"type": "error", "code": code, "message": message})
    return b"event: error\ndata: " + body + b"\n\n"


async def sse_events(group: str, kind: str, pk: int, *, user_id: int | None = None, params=None):
    """The event stream of one group; cleans its subscription up however it ends. With
    `params`, the right of `user_id` to follow it is checked again periodically."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    pending = None
    now = time.monotonic()
    ends, next_check = now + stream_max_lifetime_s(), now + stream_recheck_s()
    try:
        yield b"retry: 3000\n" + b"event: subscribed\ndata: " + orjson.dumps({kind: pk}) + b"\n\n"
        while True:
            now = time.monotonic()
            if now >= ends:
                yield _error_event(LIFETIME_CLOSE_CODE, "The stream reached its maximum lifetime: reconnect.")
                return
            if params is not None and now >= next_check:
                refused = await database_sync_to_async(live_recheck)(user_id, params)
                if refused is not None:
                    yield _error_event(refused.code, refused.message)
                    return
                next_check = time.monotonic() + stream_recheck_s()
            if pending is None:
                # a receive cancelled mid-wait would unsubscribe the channel (channels_redis
                # pubsub), so one receive task lives across heartbeats
                pending = asyncio.ensure_future(layer.receive(channel))
            wait = min(heartbeat_s(), max(0.0, min(ends, next_check if params is not None else ends) - now))
            done, _ = await asyncio.wait({pending}, timeout=wait)
            if not done:
                if time.monotonic() - now >= heartbeat_s() - 1e-3:
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
        params = {k: request.query_params.get(k) for k in ("device", "plant", "community")}
        events = sse_events(group, kind, pk, user_id=request.user.pk, params=params)
        response = StreamingHttpResponse(events, content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
        return response
