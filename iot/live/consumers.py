"""`ws/telemetry/?device=|plant=|community=`: pushes each committed batch of readings.

Authenticated by session cookie or `?token=<JWT access>` (core/ws_auth.py), Origin checked
against ALLOWED_HOSTS (config/asgi.py). A refused connection is accepted and then closed
with a code the browser can read: 4401 anonymous, 4400 bad parameters, 4403 not allowed
(a member asking for the whole community), 4404 not found or another community's.
An open stream is checked again every IOT_STREAM_RECHECK_S seconds (4403 when the right to
follow it is gone) and closed after IOT_STREAM_MAX_LIFETIME_S (4408).
"""

import asyncio
import contextlib
import time
from urllib.parse import parse_qs

import orjson
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from iot.live.scope import (
    LIFETIME_CLOSE_CODE,
    LiveRefused,
    live_frame,
    live_group_for,
    live_recheck,
    stream_max_lifetime_s,
    stream_recheck_s,
)


class TelemetryConsumer(AsyncWebsocketConsumer):
    group: str | None = None
    watcher: asyncio.Task | None = None

    async def connect(self):
        query = {k: v[0] for k, v in parse_qs(self.scope.get("query_string", b"").decode()).items()}
        query.pop("token", None)
        try:
            self.group, kind, pk = await database_sync_to_async(live_group_for)(self.scope.get("user"), query)
        except LiveRefused as refused:
            await self.accept()
            await self.send(text_data=orjson.dumps(
                {"type": "error", "code": refused.code, "message": refused.message}).decode())
            await self.close(code=refused.code)
            return
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send(text_data=orjson.dumps({"type": "subscribed", kind: pk}).decode())
        self.watcher = asyncio.ensure_future(self._watch(getattr(self.scope.get("user"), "pk", None), query))

    async def _watch(self, user_id, query) -> None:
        """Re-check the right to follow the subject; end the stream at its maximum lifetime."""
        ends = time.monotonic() + stream_max_lifetime_s()
        while True:
            await asyncio.sleep(max(0.0, min(stream_recheck_s(), ends - time.monotonic())))
            if time.monotonic() >= ends:
                await self._end(LIFETIME_CLOSE_CODE, "The stream reached its maximum lifetime: reconnect.")
                return
            refused = await database_sync_to_async(live_recheck)(user_id, query)
            if refused is not None:
                await self._end(refused.code, refused.message)
                return

    async def _end(self, code: int, message: str) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            self.group = None
        await self.send(text_data=orjson.dumps({"type": "error", "code": code, "message": message}).decode())
        await self.close(code=code)

    async def disconnect(self, code):
        if self.watcher is not None and self.watcher is not asyncio.current_task():
            self.watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.watcher
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        """The stream is one-way; a client ping gets a pong (keeps proxies from idling out)."""
        if text_data == "ping":
            await self.send(text_data="pong")

    async def telemetry_readings(self, event):
        await self.send(text_data=orjson.dumps(live_frame(event)).decode())
