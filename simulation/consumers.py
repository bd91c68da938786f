"""Websocket `ws/simulation/<job>/`: the run's progress events for the portal."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from simulation.models import SimulationRun
from simulation.progress import group_name


@database_sync_to_async
def _visible_event(user, job):
    run = SimulationRun.objects.visible_to(user).filter(job=job).first()
    return run.progress_event() if run else None


class SimulationProgressConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        job = self.scope["url_route"]["kwargs"]["job"]
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        event = await _visible_event(user, job)
        if event is None:
            await self.close(code=4404)
            return
        self.group = group_name(job)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json(event)

    async def disconnect(self, code):
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        """Read-only stream: client messages are ignored."""

    async def simulation_progress(self, message):
        await self.send_json(message["data"])
