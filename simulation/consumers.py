"""Websocket `ws/simulation/<job>/`: the run's progress events for the portal.

Close codes: 4401 anonymous, 4404 invisible run, 4403 the right to see the run is gone (checked
again every SIMULATION_STREAM_RECHECK_S), 4408 the connection reached SIMULATION_WS_MAX_S
(the page reconnects). The frames carry progress only (status, percent, stage, message):
never results, names or amounts."""

import asyncio
import contextlib

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from simulation.models import SimulationRun
from simulation.progress import group_name


@database_sync_to_async
def _visible_event(user, job):
    run = SimulationRun.objects.visible_to(user).filter(job=job).first()
    return run.progress_event() if run else None


@database_sync_to_async
def _still_visible(user_pk, job) -> bool:
    """Re-read the user: suspension or a left membership takes the run away."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=user_pk).first()
    return user is not None and SimulationRun.objects.visible_to(user).filter(job=job).exists()


class SimulationProgressConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        self.job = self.scope["url_route"]["kwargs"]["job"]
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        event = await _visible_event(user, self.job)
        if event is None:
            await self.close(code=4404)
            return
        self.group = group_name(self.job)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json(event)
        self.watchdog = asyncio.ensure_future(self._watch(user.pk))

    async def _watch(self, user_pk) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settings.SIMULATION_WS_MAX_S
        step = max(0.01, float(settings.SIMULATION_STREAM_RECHECK_S))
        while True:
            await asyncio.sleep(max(0.0, min(step, deadline - loop.time())))
            if loop.time() >= deadline:
                await self.close(code=4408)
                return
            if not await _still_visible(user_pk, self.job):
                await self.close(code=4403)
                return

    async def disconnect(self, code):
        watchdog = getattr(self, "watchdog", None)
        if watchdog is not None and watchdog is not asyncio.current_task():
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watchdog
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        """Read-only stream: client messages are ignored."""

    async def simulation_progress(self, message):
        await self.send_json(message["data"])
