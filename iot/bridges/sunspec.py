"""SunSpec inverters over Modbus TCP, through pysunspec2.

pysunspec2 scans the device (the "SunS" marker at 40000, 0 or 50000, then the model
chain), then reads the inverter model (101 single-phase, 102 split-phase, 103 three-phase,
or their float twins 111-113) and applies each point's scale factor (`W * 10**W_SF`).
Its Modbus client is blocking: the poller runs it in a worker thread.

`device.connection["sunspec"]`: `true`, or
    {"base_address": 40000,
     "points": {"W": "power_w", "WH": {"metric": "energy_produced_kwh", "scale": 0.001}}}
`points` replaces the default mapping below. `WH` is the lifetime energy counter in Wh,
stored in kWh (DOMAIN: cumulative counters are stored as read, in the metric's unit).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from iot.bridges.base import DeviceConfigError, utc_now

logger = logging.getLogger(__name__)

INVERTER_MODELS = (103, 102, 101, 113, 112, 111)

# point -> metric; points the device marks "not implemented" are skipped
DEFAULT_POINTS = {
    "W": {"metric": "power_w", "scale": 1.0},
    "WH": {"metric": "energy_produced_kwh", "scale": 0.001},
    "PhVphA": {"metric": "voltage_v", "scale": 1.0},
    "A": {"metric": "current_a", "scale": 1.0},
    "Hz": {"metric": "frequency_hz", "scale": 1.0},
    "DCV": {"metric": "pv_string_voltage_v", "scale": 1.0},
    "DCW": {"metric": "dc_power_w", "scale": 1.0},
    "TmpCab": {"metric": "inverter_temp_c", "scale": 1.0},
}


def _parse_points(raw) -> dict[str, dict]:
    if raw is None:
        return DEFAULT_POINTS
    if not isinstance(raw, dict) or not raw:
        raise DeviceConfigError("sunspec.points must map point names to metrics")
    points = {}
    for name, target in raw.items():
        if isinstance(target, str):
            points[name] = {"metric": target, "scale": 1.0}
        elif isinstance(target, dict) and target.get("metric"):
            points[name] = {"metric": str(target["metric"]), "scale": float(target.get("scale", 1.0))}
        else:
            raise DeviceConfigError(f"sunspec.points[{name!r}]: expected a metric code or {{metric, scale}}")
    return points


@dataclass
class SunSpecReader:
    host: str
    port: int = 502
    unit_id: int = 1
    timeout_s: float = 3.0
    base_address: int | None = None
    points: dict[str, dict] = field(default_factory=lambda: DEFAULT_POINTS)
    _device: object = None
    _model: object = None

    @classmethod
    def from_connection(cls, conn: dict) -> SunSpecReader:
        options = conn["sunspec"] if isinstance(conn.get("sunspec"), dict) else {}
        return cls(
            host=conn["host"], port=int(conn.get("port", 502)), unit_id=int(conn.get("unit_id", 1)),
            timeout_s=float(conn.get("timeout_s", 3)),
            base_address=None if options.get("base_address") is None else int(options["base_address"]),
            points=_parse_points(options.get("points")),
        )

    def _scan(self) -> None:
        from sunspec2.modbus.client import SunSpecModbusClientDeviceTCP

        device = SunSpecModbusClientDeviceTCP(
            slave_id=self.unit_id, ipaddr=self.host, ipport=self.port, timeout=self.timeout_s
        )
        if self.base_address is not None:
            device.base_addr_list = [self.base_address]
        try:
            device.scan(full_model_read=False)
        finally:
            device.disconnect()
        for model_id in INVERTER_MODELS:
            if device.models.get(model_id):
                self._device, self._model = device, device.models[model_id][0]
                return
        found = sorted(k for k in device.models if isinstance(k, int))
        raise DeviceConfigError(f"no SunSpec inverter model (101-103, 111-113) on the device; found {found}")

    def read(self) -> list[dict]:
        """Read the inverter model once; readings for the mapped points that are implemented."""
        if self._model is None:
            self._scan()
        self._device.connect()
        try:
            self._model.read()
        finally:
            self._device.disconnect()
        ts = utc_now()
        readings = []
        for name, target in self.points.items():
            point = getattr(self._model, name, None)
            if point is None:
                raise DeviceConfigError(f"SunSpec model {self._model.model_id} has no point {name!r}")
            value = point.cvalue  # None when the device marks the point (or its _SF) not implemented
            if value is None:
                continue
            readings.append({"metric": target["metric"], "ts": ts, "value": float(value) * target["scale"]})
        return readings
