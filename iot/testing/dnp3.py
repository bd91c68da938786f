# ruff: noqa: N802 - the callback names are opendnp3's (C++ interfaces bound with pybind11)
"""A DNP3 outstation on loopback (yadnp3 / opendnp3), for the poller tests and the demo.

    with Dnp3LoopbackOutstation({("analog", 0): 2301, ("counter", 1): 4567}) as outstation:
        outstation.update("analog", 0, 2310)          # the next scan reads it
        outstation.update("analog", 1, 5, online=False)
"""

from __future__ import annotations

import time

from iot.testing.modbus import free_port


def _classes(od):
    class Commands(od.ICommandHandler):
        def __init__(self):
            super().__init__()

        def Begin(self):
            pass

        def End(self):
            pass

        def Select(self, command, index):
            return od.CommandStatus.NOT_SUPPORTED

        def Operate(self, command, index, handler, op_type):
            return od.CommandStatus.NOT_SUPPORTED

    class Application(od.IOutstationApplication):
        def __init__(self):
            super().__init__()

        def SupportsWriteAbsoluteTime(self):
            return False

        def WriteAbsoluteTime(self, timestamp):
            return False

        def SupportsAssignClass(self):
            return False

        def GetApplicationIIN(self):
            return od.ApplicationIIN()

        def ColdRestartSupport(self):
            return od.RestartMode.UNSUPPORTED

        def WarmRestartSupport(self):
            return od.RestartMode.UNSUPPORTED

        def ColdRestart(self):
            return 0

        def WarmRestart(self):
            return 0

        def Now(self):
            return od.DNPTime(int(time.time() * 1000))

    return Commands, Application


class Dnp3LoopbackOutstation:
    """An outstation with `size` points of each type; `initial` maps (type, index) -> value."""

    def __init__(self, initial: dict[tuple[str, int], float] | None = None, *, port: int | None = None,
                 address: int = 10, master_address: int = 1, size: int = 8):
        import opendnp3 as od

        self.od = od
        self.port = port or free_port()
        self.address, self.master_address, self.size = address, master_address, size
        self.initial = initial or {}
        self._manager = None
        self._outstation = None

    def _measurement(self, kind: str, value, online: bool):
        od = self.od
        flags = od.Flags(0x01 if online else 0x00)
        now = od.DNPTime(int(time.time() * 1000), od.TimestampQuality.SYNCHRONIZED)
        if kind == "analog":
            return od.Analog(float(value), flags, now)
        if kind == "counter":
            return od.Counter(int(value), flags, now)
        if kind == "binary":
            return od.Binary(bool(value), flags, now)
        raise ValueError(kind)

    def update(self, kind: str, index: int, value, *, online: bool = True) -> None:
        builder = self.od.UpdateBuilder()
        builder.Update(self._measurement(kind, value, online), index)
        self._outstation.Apply(builder.Build())

    def start(self) -> Dnp3LoopbackOutstation:
        od = self.od
        commands_cls, app_cls = _classes(od)
        self._handlers = (commands_cls(), app_cls())  # kept alive for the C++ side
        self._manager = od.DNP3Manager(1)
        channel = self._manager.AddTCPServer(
            f"outstation-{self.port}", od.levels.NOTHING, od.ServerAcceptMode.CloseExisting,
            od.IPEndpoint("127.0.0.1", self.port), None,
        )
        config = od.OutstationStackConfig(od.DatabaseConfig(self.size))
        config.outstation.params.allowUnsolicited = False
        config.link.LocalAddr = self.address
        config.link.RemoteAddr = self.master_address
        self._outstation = channel.AddOutstation("outstation", *self._handlers, config)
        for (kind, index), value in self.initial.items():
            self.update(kind, index, value)
        self._outstation.Enable()
        return self

    def stop(self) -> None:
        if self._manager is not None:
            self._manager.Shutdown()
            self._manager = None

    def __enter__(self) -> Dnp3LoopbackOutstation:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
