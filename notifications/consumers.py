"""`ws/notifications/`: the user's own notifications, live.

On connect: `{"type": "unread", "unread": n}`; then every new notification as
`{"type": "notification", "item": {...}, "unread": n}` and every change of the count as
`{"type": "unread", "unread": n}`. Authenticated like the other streams (session cookie or
`?token=`, core/ws_auth.py); 4401 when anonymous. The user is read again every
NOTIFICATIONS_WS_RECHECK_S seconds: a deactivated account is closed with 4403.
"""

import asyncio
import contextlib

import orjson
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from notifications.live import unread_count, user_group


def _still_allowed(user_id: int) -> bool:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(pk=user_id, is_active=True).exists()


class NotificationsConsumer(AsyncWebsocketConsumer):
    group: str | None = None
    watcher: asyncio.Task | None = None

    async def connect(self):
        user = self.scope.get("user")
        await self.accept()
        if user is None or not user.is_authenticated or not user.is_active:
            await self._refuse(4401, "Authentication required.")
            return
        self.user_id = user.pk
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        count = await database_sync_to_async(unread_count)(user.pk)
        await self._send({"type": "unread", "unread": count})
        self.watcher = asyncio.ensure_future(self._watch())

    async def _send(self, frame: dict) -> None:
        await self.send(text_data=orjson.dumps(frame).decode())

    async def _refuse(self, code: int, message: str) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            self.group = None
        await self._send({"type": "error", "code": code, "message": message})
        await self.close(code=code)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(float(settings.NOTIFICATIONS_WS_RECHECK_S))
            if not await database_sync_to_async(_still_allowed)(self.user_id):
                await self._refuse(4403, "No longer allowed.")
                return

    async def disconnect(self, code):
        if self.watcher is not None and self.watcher is not asyncio.current_task():
            self.watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.watcher
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        if text_data == "ping":
            await self.send(text_data="pong")

    async def notification_created(self, event):
        await self._send({"type": "notification", "item": event["item"], "unread": event["unread"]})

    async def notification_unread(self, event):
        await self._send({"type": "unread", "unread": event["unread"]})
