# ruff: noqa: N802 - the callback names are opendnp3's (C++ interfaces bound with pybind11)
"""DNP3 (IEEE 1815) over TCP: the poller is a master (yadnp3, the opendnp3 bindings).

`device.connection`:
    host, port (20000)
    outstation_address (10), master_address (1)       link-layer addresses
    scan: "integrity" (classes 0,1,2,3: static values and events; default) | "events" (1,2,3)
    response_timeout_s: 5
    points: [{"type": "analog" | "counter" | "frozen_counter" | "binary" | "analog_output",
              "index": 0, "metric": "power_w", "scale": 1.0, "offset": 0.0}, ...]

Outstations commonly send analog inputs as scaled integers (group 30 variation 1): `scale`
turns them into the metric's unit. A point the outstation flags as not ONLINE is skipped
(logged); an event with a synchronised timestamp keeps its own time, static values get the
poll time. One DNP3Manager (one I/O thread) serves every device; each device keeps its TCP
channel and master between polls, and opendnp3 reconnects the channel by itself.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from iot.bridges.base import DeviceConfigError, Poller, utc_now

logger = logging.getLogger(__name__)

POINT_TYPES = ("analog", "counter", "frozen_counter", "binary", "analog_output")
ONLINE = 0x01


def _dnp3():
    try:
        import opendnp3
    except ImportError as exc:  # pinned in requirements/base.txt; fail with the reason
        raise RuntimeError(f"DNP3 support unavailable: {exc}") from exc
    return opendnp3


@dataclass(frozen=True)
class PointSpec:
    type: str
    index: int
    metric: str
    scale: float = 1.0
    offset: float = 0.0


def parse_points(raw) -> dict[tuple[str, int], PointSpec]:
    if not isinstance(raw, list) or not raw:
        raise DeviceConfigError("connection.points must be a non-empty list")
    specs = {}
    for i, entry in enumerate(raw):
        try:
            spec = PointSpec(str(entry["type"]), int(entry["index"]), str(entry["metric"]),
                             float(entry.get("scale", 1.0)), float(entry.get("offset", 0.0)))
        except (KeyError, TypeError, ValueError) as exc:
            raise DeviceConfigError(f"points[{i}]: {exc!r}")
        if spec.type not in POINT_TYPES:
            raise DeviceConfigError(f"points[{i}]: type must be one of {', '.join(POINT_TYPES)}")
        specs[(spec.type, spec.index)] = spec
    return specs


def _kind_of(opendnp3, value) -> str | None:
    for cls, kind in ((opendnp3.Analog, "analog"), (opendnp3.Counter, "counter"),
                      (opendnp3.FrozenCounter, "frozen_counter"), (opendnp3.Binary, "binary"),
                      (opendnp3.AnalogOutputStatus, "analog_output")):
        if isinstance(value, cls):
            return kind
    return None


def _handler_classes(opendnp3):
    class Collector(opendnp3.ISOEHandler):
        """Collects the measurements of one scan (called on the DNP3 thread)."""

        def __init__(self):
            super().__init__()
            self.lock = threading.Lock()
            self.values: list[tuple[str, int, float, int, int | None]] = []

        def BeginFragment(self, info):
            pass

        def EndFragment(self, info):
            pass

        def Process(self, info, values):
            rows = []
            for indexed in values:
                kind = _kind_of(opendnp3, indexed.value)
                if kind is None:
                    continue
                measurement = indexed.value
                time = measurement.time
                ms = time.value if time.quality == opendnp3.TimestampQuality.SYNCHRONIZED else None
                rows.append((kind, indexed.index, float(measurement.value), measurement.flags.value, ms))
            with self.lock:
                self.values.extend(rows)

    class MasterApp(opendnp3.IMasterApplication):
        """Signals the end of each user-requested scan."""

        def __init__(self):
            super().__init__()
            self.done = threading.Event()
            self.result = None

        def OnReceiveIIN(self, iin):
            pass

        def OnTaskStart(self, type, id):
            pass

        def OnTaskComplete(self, info):
            if info.type == opendnp3.MasterTaskType.USER_TASK:
                self.result = info.result
                self.done.set()

        def OnOpen(self):
            pass

        def OnClose(self):
            pass

        def AssignClassDuringStartup(self):
            return False

        def Now(self):
            return opendnp3.UTCTimestamp(int(utc_now().timestamp() * 1000))

    class ChannelListener(opendnp3.IChannelListener):
        def __init__(self):
            super().__init__()
            self.state = None
            self.open = threading.Event()

        def OnStateChange(self, state):
            self.state = state
            if state == opendnp3.ChannelState.OPEN:
                self.open.set()
            else:
                self.open.clear()

    return Collector, MasterApp, ChannelListener


class _Session:
    """One device's channel and master."""

    def __init__(self, manager, device, conn: dict):
        od = _dnp3()
        self.od = od
        self.collector_cls, app_cls, listener_cls = _handler_classes(od)
        self.app, self.listener = app_cls(), listener_cls()
        self.lock = threading.Lock()  # one scan at a time per master
        host, port = conn.get("host"), int(conn.get("port", 20000))
        if not host:
            raise DeviceConfigError("connection.host is missing")
        retry = od.ChannelRetry(od.TimeDuration.Milliseconds(500), od.TimeDuration.Seconds(30))
        self.channel = manager.AddTCPClient(
            f"dnp3-{device.serial}", od.levels.NOTHING, retry, [od.IPEndpoint(host, port)],
            "0.0.0.0",  # noqa: S104 - the local adapter of an outgoing connection: any
            self.listener,
        )
        config = od.MasterStackConfig()
        config.master.disableUnsolOnStartup = True
        timeout_ms = int(float(conn.get("response_timeout_s", 5)) * 1000)
        config.master.responseTimeout = od.TimeDuration.Milliseconds(timeout_ms)
        config.link.LocalAddr = int(conn.get("master_address", 1))
        config.link.RemoteAddr = int(conn.get("outstation_address", 10))
        self.startup_sink = self.collector_cls()  # the automatic startup integrity poll lands here
        self.master = self.channel.AddMaster(f"master-{device.serial}", self.startup_sink, self.app, config)
        self.master.Enable()

    def scan(self, events_only: bool, timeout_s: float) -> list[tuple]:
        od = self.od
        with self.lock:
            if not self.listener.open.wait(timeout_s / 2):
                state = getattr(self.listener.state, "name", "unknown")
                raise ConnectionError(f"DNP3 channel not connected (state {state})")
            collector = self.collector_cls()
            self.app.done.clear()
            field = od.ClassField.AllEventClasses() if events_only else od.ClassField.AllClasses()
            self.master.ScanClasses(field, collector)
            if not self.app.done.wait(timeout_s):
                raise TimeoutError("DNP3 scan did not complete")
            if self.app.result != od.TaskCompletion.SUCCESS:
                state = getattr(self.listener.state, "name", "unknown")
                raise ConnectionError(f"DNP3 scan failed: {self.app.result.name} (channel {state})")
            with collector.lock:
                return list(collector.values)

    def shutdown(self) -> None:
        self.channel.Shutdown()


class Dnp3Poller(Poller):
    protocol = "dnp3"
    timeout_s = 15.0

    def __init__(self):
        self._manager = None
        self._sessions: dict[int, _Session] = {}

    def _session(self, device, conn: dict) -> _Session:
        session = self._sessions.get(device.pk)
        if session is None:
            if self._manager is None:
                self._manager = _dnp3().DNP3Manager(1)
            session = self._sessions[device.pk] = _Session(self._manager, device, conn)
        return session

    async def read(self, device) -> list[dict]:
        conn = device.connection or {}
        specs = parse_points(conn.get("points"))
        session = self._session(device, conn)
        events_only = conn.get("scan", "integrity") == "events"
        wait_s = max(1.0, self.timeout_s - 1)
        values = await asyncio.to_thread(session.scan, events_only, wait_s)
        return to_readings(device, specs, values, utc_now())

    async def forget(self, device) -> None:
        # After an error keep the channel: opendnp3 reconnects it with its own retry policy.
        pass

    async def release(self, device) -> None:
        session = self._sessions.pop(device.pk, None)
        if session is not None:
            await asyncio.to_thread(session.shutdown)

    async def close(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            session.shutdown()
        if self._manager is not None:
            await asyncio.to_thread(self._manager.Shutdown)
            self._manager = None


def to_readings(device, specs: dict[tuple[str, int], PointSpec], values: list[tuple], now: datetime
                ) -> list[dict]:
    """Readings for the mapped points; the last value of a point at a given time wins."""
    out: dict[tuple[str, datetime], dict] = {}
    for kind, index, value, flags, ms in values:
        spec = specs.get((kind, index))
        if spec is None:
            continue
        if not flags & ONLINE:
            logger.warning("dnp3 %s: %s %d flagged not online (flags 0x%02x); skipped",
                           device.serial, kind, index, flags)
            continue
        ts = datetime.fromtimestamp(ms / 1000, UTC) if ms else now
        out[(spec.metric, ts)] = {"metric": spec.metric, "ts": ts, "value": value * spec.scale + spec.offset}
    return list(out.values())
