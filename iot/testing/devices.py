"""Registry rows for the poller tests and the demo (plain ORM: no secret is needed, a
polled device never authenticates to us)."""

from __future__ import annotations

import itertools

_serials = itertools.count(1)


def polled_device(*, plant, protocol: str, connection: dict, serial: str | None = None,
                  kind: str = "inverter", poll_interval_s: int = 1):
    from iot.models import Device

    return Device.objects.create(
        serial=serial or f"{protocol.upper()}-{next(_serials):04d}", kind=kind, protocol=protocol,
        plant=plant, community=getattr(plant, "community", None), connection=connection,
        poll_interval_s=poll_interval_s, expected_interval_s=max(poll_interval_s, 1),
    )


def readings_of(device) -> dict[str, list[float]]:
    """{metric code: [values in time order]} stored for `device`."""
    from iot.models import Metric, Reading

    codes = dict(Metric.objects.values_list("id", "code"))
    out: dict[str, list[float]] = {}
    for metric_id, value in Reading.objects.filter(device_id=device.pk).order_by("ts").values_list(
        "metric_id", "value"
    ):
        out.setdefault(codes[metric_id], []).append(value)
    return out
