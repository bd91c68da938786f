"""Test helper: listen to Channels layer groups from a background thread with its own loop."""

import asyncio
import threading

from channels.layers import get_channel_layer


class GroupListener:
    """`with GroupListener(groups) as listener: ...; listener.wait(n)` -> the n first messages."""

    def __init__(self, groups: list[str]):
        self.groups = groups
        self.messages: list[dict] = []
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        if not self._ready.wait(10):
            raise TimeoutError("listener did not subscribe")
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)

    def _run(self):
        asyncio.run(self._listen())

    async def _listen(self):
        layer = get_channel_layer()
        channel = await layer.new_channel()
        for group in self.groups:
            await layer.group_add(group, channel)
        self._ready.set()
        while not self._stop.is_set():
            try:
                self.messages.append(await asyncio.wait_for(layer.receive(channel), timeout=0.2))
            except TimeoutError:
                continue
        for group in self.groups:
            await layer.group_discard(group, channel)

    def wait(self, count: int, timeout: float = 10) -> list[dict]:
        for _ in range(int(timeout / 0.05)):
            if len(self.messages) >= count:
                break
            self._stop.wait(0.05)
        return list(self.messages)
