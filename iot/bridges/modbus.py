"""Modbus TCP: a register map read with pymodbus' async client.

`device.connection`:
    host, port (502), unit_id (1), timeout_s (3)
    register_map: [
        {"metric": "power_w", "address": 40083, "type": "int16",       # required
         "table": "holding" | "input",                                  # default holding
         "word_order": "big" | "little", "byte_order": "big" | "little",  # default big/big
         "scale": 0.1,                      # value * scale (default 1)
         "scale_sf_address": 40084,         # or: value * 10**int16(register) (SunSpec *_SF)
         "offset": 0},                      # added after scaling
        ...]
    sunspec: true | {"base_address": 40000, "points": {"W": "power_w", ...}}  (see sunspec.py)

    max_gap: 0   (unused registers a request may span to join two entries; 0 = contiguous only)

Types: int16, uint16, int32, uint32, float32. Addresses are protocol (0-based) addresses,
as in the request. Contiguous registers are read in one request (at most 120 registers).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from pymodbus.client import AsyncModbusTcpClient

from iot.bridges.base import DeviceConfigError, Poller, utc_now
from iot.bridges.sunspec import SunSpecReader

logger = logging.getLogger(__name__)

DATA_TYPES = {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2}
TABLES = ("holding", "input")
ORDERS = ("big", "little")
MAX_BLOCK = 120  # registers per request (Modbus allows 125)
# Registers that may be read and thrown away to save a request. 0 by default: many devices
# answer "illegal data address" for an unmapped register inside a block.
DEFAULT_MAX_GAP = 0


class ModbusReadError(IOError):
    """The device answered a read with a Modbus exception, or not at all."""


@dataclass(frozen=True)
class RegisterSpec:
    metric: str
    address: int
    type: str = "uint16"
    table: str = "holding"
    word_order: str = "big"
    byte_order: str = "big"
    scale: float = 1.0
    scale_sf_address: int | None = None
    offset: float = 0.0

    @property
    def count(self) -> int:
        return DATA_TYPES[self.type]

    @classmethod
    def parse(cls, raw: dict, position: int) -> RegisterSpec:
        where = f"register_map[{position}]"
        if not isinstance(raw, dict):
            raise DeviceConfigError(f"{where}: expected an object")
        try:
            spec = cls(
                metric=str(raw["metric"]), address=int(raw["address"]),
                type=str(raw.get("type", "uint16")).lower(), table=str(raw.get("table", "holding")).lower(),
                word_order=str(raw.get("word_order", "big")).lower(),
                byte_order=str(raw.get("byte_order", "big")).lower(),
                scale=float(raw.get("scale", 1.0)),
                scale_sf_address=(None if raw.get("scale_sf_address") is None
                                  else int(raw["scale_sf_address"])),
                offset=float(raw.get("offset", 0.0)),
            )
        except KeyError as exc:
            raise DeviceConfigError(f"{where}: missing {exc.args[0]!r}")
        except (TypeError, ValueError) as exc:
            raise DeviceConfigError(f"{where}: {exc}")
        if spec.type not in DATA_TYPES:
            raise DeviceConfigError(f"{where}: type must be one of {', '.join(DATA_TYPES)}")
        if spec.table not in TABLES:
            raise DeviceConfigError(f"{where}: table must be holding or input")
        if spec.word_order not in ORDERS or spec.byte_order not in ORDERS:
            raise DeviceConfigError(f"{where}: word_order and byte_order are big or little")
        if not 0 <= spec.address <= 0xFFFF:
            raise DeviceConfigError(f"{where}: address out of range")
        return spec


def parse_register_map(raw) -> list[RegisterSpec]:
    if not isinstance(raw, list):
        raise DeviceConfigError("register_map must be a list")
    return [RegisterSpec.parse(entry, i) for i, entry in enumerate(raw)]


def plan_blocks(specs: list[RegisterSpec], max_gap: int = DEFAULT_MAX_GAP) -> list[tuple[str, int, int]]:
    """(table, start, count) requests covering every register the specs need; neighbours
    at most `max_gap` unused registers apart share a request."""
    wanted: dict[str, set[int]] = {t: set() for t in TABLES}
    for spec in specs:
        wanted[spec.table].update(range(spec.address, spec.address + spec.count))
        if spec.scale_sf_address is not None:
            wanted[spec.table].add(spec.scale_sf_address)
    blocks = []
    for table in TABLES:
        start = end = None
        for address in sorted(wanted[table]):
            if start is not None and address - end <= max_gap + 1 and address - start < MAX_BLOCK:
                end = address
                continue
            if start is not None:
                blocks.append((table, start, end - start + 1))
            start = end = address
        if start is not None:
            blocks.append((table, start, end - start + 1))
    return blocks


def _signed16(word: int) -> int:
    return word - 0x10000 if word & 0x8000 else word


def decode(spec: RegisterSpec, registers: dict[tuple[str, int], int]) -> float | None:
    """The scaled value of `spec` from the read registers; None when its SunSpec scale
    factor register says "not implemented" (0x8000)."""
    words = [registers[(spec.table, spec.address + i)] for i in range(spec.count)]
    if spec.byte_order == "little":
        words = [((w & 0xFF) << 8) | (w >> 8) for w in words]
    value = AsyncModbusTcpClient.convert_from_registers(
        words, getattr(AsyncModbusTcpClient.DATATYPE, spec.type.upper()), word_order=spec.word_order
    )
    if spec.scale_sf_address is not None:
        sf_word = registers[(spec.table, spec.scale_sf_address)]
        if sf_word == 0x8000:
            return None
        value = value * 10 ** _signed16(sf_word)
    else:
        value = value * spec.scale
    return value + spec.offset


class ModbusPoller(Poller):
    protocol = "modbus"
    timeout_s = 10.0

    def __init__(self):
        self._clients: dict[int, AsyncModbusTcpClient] = {}
        self._sunspec: dict[int, SunSpecReader] = {}

    async def read(self, device) -> list[dict]:
        conn = device.connection or {}
        host = conn.get("host")
        if not host:
            raise DeviceConfigError("connection.host is missing")
        readings: list[dict] = []
        if conn.get("sunspec"):
            reader = self._sunspec.get(device.pk)
            if reader is None:
                reader = self._sunspec[device.pk] = SunSpecReader.from_connection(conn)
            readings += await asyncio.to_thread(reader.read)
        if conn.get("register_map"):
            readings += await self._read_map(device, conn, parse_register_map(conn["register_map"]))
        if not conn.get("sunspec") and "register_map" not in conn:
            raise DeviceConfigError("connection needs a register_map or sunspec")
        return readings

    async def _read_map(self, device, conn: dict, specs: list[RegisterSpec]) -> list[dict]:
        client = await self._client(device, conn)
        unit_id = int(conn.get("unit_id", 1))
        registers: dict[tuple[str, int], int] = {}
        for table, start, count in plan_blocks(specs, int(conn.get("max_gap", DEFAULT_MAX_GAP))):
            call = client.read_holding_registers if table == "holding" else client.read_input_registers
            response = await call(start, count=count, device_id=unit_id)
            if response.isError():
                raise ModbusReadError(f"{table} {start}+{count}: {response}")
            registers.update({(table, start + i): word for i, word in enumerate(response.registers)})
        ts = utc_now()
        readings = []
        for spec in specs:
            value = decode(spec, registers)
            if value is None:
                logger.debug("modbus %s: %s not implemented (scale factor 0x8000)",
                             device.serial, spec.metric)
                continue
            readings.append({"metric": spec.metric, "ts": ts, "value": value})
        return readings

    async def _client(self, device, conn: dict) -> AsyncModbusTcpClient:
        client = self._clients.get(device.pk)
        if client is not None and client.connected:
            return client
        if client is not None:
            client.close()
        client = AsyncModbusTcpClient(
            conn["host"], port=int(conn.get("port", 502)), timeout=float(conn.get("timeout_s", 3)),
            retries=1, reconnect_delay=0,  # the poll loop owns retries and backoff
        )
        if not await client.connect():
            client.close()
            raise ConnectionError(f"cannot connect to {conn['host']}:{conn.get('port', 502)}")
        self._clients[device.pk] = client
        return client

    async def forget(self, device) -> None:
        client = self._clients.pop(device.pk, None)
        if client is not None:
            client.close()
        self._sunspec.pop(device.pk, None)

    async def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        self._sunspec.clear()
