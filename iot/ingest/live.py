"""Live fan-out of committed readings to the Channels layer groups (see
`iot.ingest.service`): one aggregated message per device and batch, sent from one background
event loop so no caller waits for Redis."""

import asyncio
import heapq
import logging
import os
import threading
from collections import defaultdict
from operator import itemgetter

from django.conf import settings

from iot.models import Device

logger = logging.getLogger("commonwatt.iot.ingest")

LIVE_MESSAGE_TYPE = "telemetry.readings"


def device_group(device_id: int) -> str:
    return f"telemetry.device.{device_id}"


def plant_group(plant_id: int) -> str:
    return f"telemetry.plant.{plant_id}"


def community_group(community_id: int) -> str:
    return f"telemetry.community.{community_id}"


def live_messages(written, devices: dict[int, Device], codes: dict[int, str]) -> list[tuple[str, dict]]:
    per_device = defaultdict(list)
    for device_id, metric_id, ts, value in written:
        per_device[device_id].append((ts, metric_id, value))
    limit = settings.IOT_LIVE_MAX_READINGS
    sends = []
    for device_id, readings in per_device.items():
        dev = devices[device_id]
        if len(readings) > limit:
            readings = heapq.nlargest(limit, readings, key=itemgetter(0))[::-1]
        else:
            readings.sort(key=itemgetter(0))
        message = {
            "type": LIVE_MESSAGE_TYPE,
            "device": device_id,
            "serial": dev.serial,
            "plant": dev.plant_id,
            "community": dev.community_id,
            "readings": [
                {"metric": codes[m], "ts": ts.isoformat(), "value": v} for ts, m, v in readings
            ],
        }
        sends.append((device_group(device_id), message))
        if dev.plant_id:
            sends.append((plant_group(dev.plant_id), message))
        if dev.community_id:
            sends.append((community_group(dev.community_id), message))
    return sends


class _LiveSender:
    """One background thread with its own event loop sends the live messages, so a caller
    (the bridge, a poller, a request) never waits for Redis and the Channels layer keeps one
    connection instead of opening one per call."""

    def __init__(self):
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                self._pid = os.getpid()  # a forked worker starts its own thread
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=self._loop.run_forever, name="iot-live", daemon=True)
                self._thread.start()
            return self._loop

    def submit(self, sends: list[tuple[str, dict]]):
        return asyncio.run_coroutine_threadsafe(_send_all(sends), self._ensure())


async def _send_all(sends: list[tuple[str, dict]]) -> None:
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return
    try:
        for group, message in sends:
            await layer.group_send(group, message)
    except Exception:
        logger.exception("live publish failed", extra={"groups": len(sends)})


_live_sender = _LiveSender()


def publish_live(written, devices: dict[int, Device], codes: dict[int, str]):
    """Queue the committed readings for the live groups and return at once (a future); a
    failure is logged, never raised: the readings are stored, live is best effort."""
    return _live_sender.submit(live_messages(written, devices, codes))
