"""`ws/telemetry/?device=|plant=|community=`: pushes each committed batch of readings.

Authenticated by session cookie or `?token=<JWT access>` (core/ws_auth.py), Origin checked
against ALLOWED_HOSTS (config/asgi.py). A refused connection is accepted and then closed
with a code the browser can read: 4401 anonymous, 4400 bad parameters, 4403 not allowed
(a member asking for the whole community), 4404 not found or another community's.
"""

from urllib.parse import parse_qs

import orjson
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from iot.live.scope import LiveRefused, live_frame, live_group_for


class TelemetryConsumer(AsyncWebsocketConsumer):
    group: str | None = None

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

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        """The stream is one-way; a client ping gets a pong (keeps proxies from idling out)."""
        if text_data == "ping":
            await self.send(text_data="pong")

    async def telemetry_readings(self, event):
        await self.send(text_data=orjson.dumps(live_frame(event)).decode())
