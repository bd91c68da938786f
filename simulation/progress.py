"""Progress events: the run row is the truth (SSE reads it); the same event is pushed to
the websocket group ``simulation.<job>`` for the portal."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger("commonwatt.simulation")


def group_name(job) -> str:
    return f"simulation.{getattr(job, 'hex', str(job).replace('-', ''))}"


def publish(run) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            group_name(run.job), {"type": "simulation.progress", "data": run.progress_event()}
        )
    except Exception:  # a dead Redis must not fail the run: SSE still reads the row
        logger.warning("could not publish progress of run %s", run.job, exc_info=True)
