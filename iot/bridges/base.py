"""The poll loop shared by the polled protocols (Modbus TCP, IEC 61850, DNP3).

A protocol supplies a `Poller` that reads one device and returns readings
(`{"metric": code, "ts": aware datetime, "value": number}`); the loop picks the due
devices from the registry, reads them concurrently, and hands the readings to the one
write path, `iot.ingest.service.ingest(items, source=<protocol>)`, each item naming its
device's serial; the devices that answer close together share one ingest call.

A device that times out or errors is logged, its `last_error` set, and retried after a
capped exponential backoff (`backoff_base_s * 2**(failures-1)`, at most `backoff_max_s`);
the loop itself never stops on a device's error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from asgiref.sync import sync_to_async

logger = logging.getLogger(__name__)


class DeviceConfigError(ValueError):
    """The device's `connection` settings cannot be used (missing host, bad register map ...)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class Poller:
    """One protocol's client side. Subclasses set `protocol` and implement `read`."""

    protocol: str = ""
    #: seconds one device's read may take before it counts as a timeout
    timeout_s: float = 10.0

    async def read(self, device) -> list[dict]:
        """Read `device` once; return readings `{"metric", "ts", "value"}`."""
        raise NotImplementedError

    async def forget(self, device) -> None:
        """Drop any connection kept for `device` (after an error, or at shutdown)."""

    async def release(self, device) -> None:
        """`device` left the registry or its connection settings changed: drop everything
        kept for it, so the next read starts from its current settings."""
        await self.forget(device)

    async def close(self) -> None:
        """Release every connection; called once when the loop ends."""


@dataclass
class DeviceState:
    next_due: float = 0.0
    failures: int = 0
    last_error: str = ""
    device: object = None  # the registry row as last polled (its connection settings)


@dataclass
class CycleReport:
    polled: int = 0
    failed: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0


@dataclass
class PollLoop:
    """Polls the active devices of `poller.protocol` (optionally only `serials`)."""

    poller: Poller
    serials: list[str] = field(default_factory=list)
    backoff_base_s: float = 2.0
    backoff_max_s: float = 300.0
    concurrency: int = 20
    #: devices answering within this many seconds of each other share one ingest call
    batch_window_s: float = 0.2
    batch_max_devices: int = 200
    #: how long to sleep at most between registry reloads when nothing is due
    idle_s: float = 1.0
    states: dict[int, DeviceState] = field(default_factory=dict)
    cycles: int = 0
    totals: CycleReport = field(default_factory=CycleReport)
    _idle_warned: bool = False

    async def run(self, *, once: bool = False, max_cycles: int | None = None,
                  stop: asyncio.Event | None = None) -> CycleReport:
        """Poll until `stop` is set, or for one cycle (`once`: every device, due or not),
        or for `max_cycles` cycles (a cycle polls the devices that are due)."""
        stop = stop or asyncio.Event()
        try:
            devices: list = []
            while not stop.is_set():
                try:
                    devices = await load_devices(self.poller.protocol, self.serials)
                except Exception:
                    # Database unreachable: keep the last known devices, reconnect next cycle.
                    logger.exception("%s: cannot read the device registry", self.poller.protocol)
                    await reset_db_connection()
                await self._release_departed(devices)
                if not devices and not self._idle_warned:
                    logger.warning("%s: no active devices to poll (waiting for some)", self.poller.protocol)
                self._idle_warned = not devices
                now = time.monotonic()
                due = devices if once else [d for d in devices if self._state(d).next_due <= now]
                if due or once:
                    await self.cycle(due)
                    self.cycles += 1
                    if once or (max_cycles is not None and self.cycles >= max_cycles):
                        break
                await self._sleep_until_due(devices, stop)
        finally:
            await self.poller.close()
        return self.totals

    async def cycle(self, devices: Iterable) -> CycleReport:
        """Read `devices` concurrently; the readings of the devices that answer within
        `batch_window_s` of each other go to `ingest()` in one call (one transaction), so a
        slow or hung device delays nobody else's readings."""
        report = CycleReport()
        devices = list(devices)
        semaphore = asyncio.Semaphore(self.concurrency)
        answered: asyncio.Queue = asyncio.Queue()

        async def read_one(device):
            readings = None
            try:
                async with semaphore:
                    readings = await self._read_device(device, report)
            finally:  # always answer, or the writer below would wait for this device forever
                answered.put_nowait((device, readings))

        tasks = [asyncio.create_task(read_one(d)) for d in devices]
        loop = asyncio.get_running_loop()
        remaining = len(devices)
        try:
            while remaining:
                batch = [await answered.get()]
                remaining -= 1
                end = loop.time() + self.batch_window_s
                while remaining and len(batch) < self.batch_max_devices:
                    try:
                        batch.append(await asyncio.wait_for(answered.get(), max(0.0, end - loop.time())))
                    except TimeoutError:
                        break
                    remaining -= 1
                await self._write(batch, report)
        finally:
            await asyncio.gather(*tasks, return_exceptions=True)
        for name in ("polled", "failed", "accepted", "duplicate", "rejected"):
            setattr(self.totals, name, getattr(self.totals, name) + getattr(report, name))
        return report

    async def _release_departed(self, devices: list) -> None:
        present = {d.pk for d in devices}
        for pk in [pk for pk in self.states if pk not in present]:
            state = self.states.pop(pk)
            if state.device is not None:
                logger.info("%s %s: no longer active here; connection dropped",
                            self.poller.protocol, state.device.serial)
                await self._release(state.device)

    async def _release(self, device) -> None:
        try:
            await self.poller.release(device)
        except Exception:
            logger.exception("%s %s: could not drop the connection", self.poller.protocol, device.serial)

    async def _read_device(self, device, report: CycleReport) -> list[dict] | None:
        """The device's readings, or None when it failed (logged, backoff scheduled)."""
        state = self._state(device)
        if state.device is not None and state.device.connection != device.connection:
            logger.info("%s %s: connection settings changed; reconnecting",
                        self.poller.protocol, device.serial)
            await self._release(state.device)
        state.device = device
        report.polled += 1
        try:
            return await asyncio.wait_for(self.poller.read(device), timeout=self.poller.timeout_s)
        except Exception as exc:  # a device's failure must never stop the loop
            report.failed += 1
            await self._failed(device, state, _describe(exc))
            return None

    async def _write(self, batch: list[tuple], report: CycleReport) -> None:
        answered = [(device, readings) for device, readings in batch if readings is not None]
        items = [{**reading, "device": device.serial}
                 for device, readings in answered for reading in readings]
        if items:
            try:
                result = await ingest_readings(items, source=self.poller.protocol, device=None)
            except Exception:
                # The write path itself failed (database down): keep polling, retry later.
                logger.exception("%s: ingest of %d readings failed", self.poller.protocol, len(items))
                await reset_db_connection()
                for device, _ in answered:
                    report.failed += 1
                    await self._failed(device, self._state(device), "ingest failed", record=False)
                return
            report.accepted += result.accepted
            report.duplicate += result.duplicate
            report.rejected += result.rejected
        for device, _ in answered:
            state = self._state(device)
            if state.failures:
                logger.info("%s %s: answering again after %d failure(s)",
                            self.poller.protocol, device.serial, state.failures)
            state.failures, state.last_error = 0, ""
            state.next_due = time.monotonic() + max(1, device.poll_interval_s)

    async def _failed(self, device, state: DeviceState, reason: str, *, record: bool = True) -> None:
        state.failures += 1
        delay = backoff_delay(state.failures, self.backoff_base_s, self.backoff_max_s)
        state.next_due = time.monotonic() + delay
        state.last_error = reason
        logger.error("%s %s: poll failed (%s); attempt %d, retrying in %.1f s",
                     self.poller.protocol, device.serial, reason, state.failures, delay)
        try:
            await self.poller.forget(device)
            if record:
                await record_error(device, reason)
        except Exception:
            logger.exception("%s %s: could not record the error", self.poller.protocol, device.serial)

    def _state(self, device) -> DeviceState:
        return self.states.setdefault(device.pk, DeviceState())

    async def _sleep_until_due(self, devices, stop: asyncio.Event) -> None:
        now = time.monotonic()
        dues = [self._state(d).next_due for d in devices]
        wait = min([*(max(0.0, due - now) for due in dues), self.idle_s]) if dues else self.idle_s
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=max(wait, 0.05))


def backoff_delay(failures: int, base_s: float, max_s: float) -> float:
    """Capped exponential backoff: base, 2*base, 4*base ... at most `max_s` seconds."""
    return min(max_s, base_s * 2 ** max(0, failures - 1))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    return f"{type(exc).__name__}: {exc}"[:480]


@sync_to_async
def load_devices(protocol: str, serials: list[str]) -> list:
    from iot.models import Device

    qs = Device.objects.filter(protocol=protocol, is_active=True)
    if serials:
        qs = qs.filter(serial__in=serials)
    return list(qs)


@sync_to_async
def ingest_readings(readings: list[dict], *, source: str, device):
    from iot.ingest.service import ingest

    return ingest(readings, source=source, device=device)


@sync_to_async
def record_error(device, reason: str) -> None:
    """Mark the device as failing (its status becomes `error` until good data arrives)."""
    from iot.ingest.service import device_mark_error

    device_mark_error(device=device, reason=reason)


@sync_to_async
def reset_db_connection() -> None:
    """After a database error: drop the connection so the next query opens a fresh one
    (a long-running poller must survive a PostgreSQL restart)."""
    from django.db import connection

    if not connection.in_atomic_block:
        connection.close()
