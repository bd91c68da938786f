"""A Modbus TCP server on loopback holding a SunSpec-like register image.

Used by the poller tests and by the demo (`python -m iot.testing.demo`). The SunSpec
image is laid out from pysunspec2's own model definitions (model 1 common + model 103
three-phase inverter), so every point sits where the SunSpec standard puts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

SUNSPEC_BASE = 40000
SUNS_MARKER = [0x5375, 0x6E53]  # "SunS"

# SunSpec "not implemented" values per point type
_NOT_IMPLEMENTED = {
    "int16": 0x8000, "sunssf": 0x8000, "uint16": 0xFFFF, "enum16": 0xFFFF, "bitfield16": 0xFFFF,
    "count": 0, "acc16": 0, "pad": 0x8000,
    "int32": 0x80000000, "uint32": 0xFFFFFFFF, "acc32": 0, "bitfield32": 0xFFFFFFFF,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _point_registers(point: dict, value) -> list[int]:
    kind, size = point["type"], point.get("size", 1)
    if kind == "string":
        raw = (value or "").encode()[: size * 2].ljust(size * 2, b"\0")
        return list(struct.unpack(f">{size}H", raw))
    if value is None:
        value = _NOT_IMPLEMENTED.get(kind, 0)
        return [(value >> 16) & 0xFFFF, value & 0xFFFF] if size == 2 else [value & 0xFFFF]
    if size == 2:
        return list(struct.unpack(">2H", struct.pack(">i" if kind == "int32" else ">I", int(value))))
    return [int(value) & 0xFFFF]


def sunspec_model_registers(model_id: int, values: dict) -> list[int]:
    """The registers of one SunSpec model (ID, L, then the points), from its definition."""
    from sunspec2.device import get_model_def

    points = get_model_def(model_id)["group"]["points"]
    body: list[int] = []
    for point in points[2:]:  # ID and L come first
        body += _point_registers(point, values.get(point["name"]))
    return [model_id, len(body), *body]


def sunspec_inverter_image(values: dict, *, common: dict | None = None, model_id: int = 103) -> list[int]:
    """'SunS', model 1 (common), one inverter model (101/102/103), end model: registers
    from `SUNSPEC_BASE`. `values` holds raw register values by point name (W, W_SF, ...)."""
    common = {"Mn": "CommonWatt", "Md": "SimInverter", "SN": "SIM-0001", "DA": 1, **(common or {})}
    return [*SUNS_MARKER, *sunspec_model_registers(1, common), *sunspec_model_registers(model_id, values),
            0xFFFF, 0]


class ModbusLoopbackServer:
    """A pymodbus TCP server in a background thread; `holding`/`input` map a start address
    to a list of register values. Use as a context manager."""

    def __init__(self, *, holding: dict[int, list[int]] | None = None,
                 input: dict[int, list[int]] | None = None,
                 port: int | None = None, device_id: int = 0):
        self.port = port or free_port()
        self.holding = holding or {}
        self.input = input or {}
        self.device_id = device_id
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: ModbusTcpServer | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._pending: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def set_registers(self, address: int, values: list[int], *, table: str = "holding") -> None:
        """Change registers while serving (from any thread); the next request sees them."""
        with self._lock:
            self._pending.update({(table, address + i): v & 0xFFFF for i, v in enumerate(values)})

    async def _apply_pending(self, function_code, start_address, address, count, registers, set_values):
        table = "input" if function_code == 4 else "holding"
        with self._lock:
            for (tbl, addr), value in list(self._pending.items()):
                if tbl == table and 0 <= addr - start_address < len(registers):
                    registers[addr - start_address] = value
                    del self._pending[(tbl, addr)]
        return None

    def _device(self) -> SimDevice:
        def blocks(image):
            return [SimData(address=a, values=list(v), datatype=DataType.REGISTERS) for a, v in image.items()]

        empty = {0: [0]}
        holding, inputs = blocks(self.holding or empty), blocks(self.input or empty)
        off = [SimData(address=0, values=[False], datatype=DataType.BITS)]
        return SimDevice(id=self.device_id, simdata=(off, off, holding, inputs), action=self._apply_pending)

    async def _serve(self):
        self._server = ModbusTcpServer(self._device(), address=("127.0.0.1", self.port))
        await self._server.serve_forever(background=True)
        self._started.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self._server.serving

    def _run(self):
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._started.set()
        finally:
            self._loop.close()

    def start(self) -> ModbusLoopbackServer:
        self._thread = threading.Thread(target=self._run, name=f"modbus-server-{self.port}", daemon=True)
        self._thread.start()
        if not self._started.wait(10) or self._error:
            raise RuntimeError(f"Modbus loopback server did not start: {self._error!r}")
        return self

    def stop(self) -> None:
        if self._loop and self._server and self._thread and self._thread.is_alive():
            with contextlib.suppress(RuntimeError):
                asyncio.run_coroutine_threadsafe(self._server.shutdown(), self._loop).result(10)
            self._thread.join(10)

    def __enter__(self) -> ModbusLoopbackServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
