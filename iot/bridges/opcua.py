"""OPC UA: data-change subscriptions with asyncua, readings ingested in small batches.

`device.connection`:
    endpoint: "opc.tcp://host:4840/path"     (or host + port, default 4840)
    node_ids: {"ns=2;i=2": "power_w", "ns=2;s=Meter.Energy": {"metric": "energy_import_kwh",
               "scale": 0.001}}
    security_policy: "Basic256Sha256" (default) | "Aes128Sha256RsaOaep" | "Aes256Sha256RsaPss" | "None"
    security_mode: "SignAndEncrypt" (default) | "Sign"
    certificate, private_key: the collector's certificate (DER/PEM) and key (PEM) paths
        (default: `opcua_collect --certificate/--private-key`)
    server_certificate: path of the server's certificate (pinned: a server presenting
        another one cannot decrypt the session). Required, unless
        trust_endpoint_certificate: true, which takes it from the server's endpoint list
        (trust on first use of each connection: no protection against an impostor)
    application_uri: must match the URI in the collector's certificate
        (default "urn:commonwatt:opcua-collector")
    publishing_interval_ms: 1000; allow_insecure: false

The None policy sends everything in clear and unauthenticated: it is refused unless the
device's `allow_insecure` is true or the command runs with `--allow-insecure`.

Each device gets its own session and subscription; a lost or refused connection is logged,
recorded on the device (`last_error`) and retried after a capped exponential backoff. The
notifications of all devices go through one queue; a flusher hands them to
`ingest(..., source="opcua", device=device)` every `flush_interval_s` or `batch_size` items.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from asyncua import Client, ua
from asyncua.crypto import security_policies

from iot.bridges.base import (
    DeviceConfigError,
    backoff_delay,
    ingest_readings,
    load_devices,
    record_error,
    reset_db_connection,
    utc_now,
)

logger = logging.getLogger(__name__)

POLICIES = {"Basic256Sha256", "Aes128Sha256RsaOaep", "Aes256Sha256RsaPss"}
MODES = {"SignAndEncrypt", "Sign"}
DEFAULT_APPLICATION_URI = "urn:commonwatt:opcua-collector"


class InsecureRefused(DeviceConfigError):
    """The device asks for security policy None and nobody allowed it."""


@dataclass(frozen=True)
class NodeSpec:
    node_id: str
    metric: str
    scale: float = 1.0


def parse_node_ids(raw) -> dict[str, NodeSpec]:
    if not isinstance(raw, dict) or not raw:
        raise DeviceConfigError("connection.node_ids must map node ids to metric codes")
    specs = {}
    for node_id, target in raw.items():
        try:
            node = ua.NodeId.from_string(node_id).to_string()
        except Exception as exc:
            raise DeviceConfigError(f"node_ids: {node_id!r} is not a node id ({exc})")
        if isinstance(target, str):
            specs[node] = NodeSpec(node, target)
        elif isinstance(target, dict) and target.get("metric"):
            specs[node] = NodeSpec(node, str(target["metric"]), float(target.get("scale", 1.0)))
        else:
            raise DeviceConfigError(f"node_ids[{node_id!r}]: expected a metric code or {{metric, scale}}")
    return specs


@dataclass
class Security:
    policy: str
    mode: str = "SignAndEncrypt"
    certificate: str | None = None
    private_key: str | None = None
    server_certificate: str | None = None
    application_uri: str = DEFAULT_APPLICATION_URI

    @property
    def insecure(self) -> bool:
        return self.policy == "None"


def security_for(conn: dict, *, allow_insecure: bool = False, certificate: str | None = None,
                 private_key: str | None = None) -> Security:
    """The security settings of a device; refuses the None policy unless allowed."""
    policy = str(conn.get("security_policy") or "Basic256Sha256")
    app_uri = str(conn.get("application_uri") or DEFAULT_APPLICATION_URI)
    if policy == "None":
        if not (allow_insecure or conn.get("allow_insecure") is True):
            raise InsecureRefused(
                "security policy None refused: set connection.allow_insecure or run with --allow-insecure"
            )
        return Security(policy="None", application_uri=app_uri)
    if policy not in POLICIES:
        raise DeviceConfigError(f"security_policy must be one of None, {', '.join(sorted(POLICIES))}")
    mode = str(conn.get("security_mode") or "SignAndEncrypt")
    if mode not in MODES:
        raise DeviceConfigError("security_mode must be Sign or SignAndEncrypt")
    cert, key = conn.get("certificate") or certificate, conn.get("private_key") or private_key
    if not cert or not key:
        raise DeviceConfigError(f"{policy} needs the collector's certificate and private_key")
    server_cert = conn.get("server_certificate")
    if not server_cert and conn.get("trust_endpoint_certificate") is not True:
        raise DeviceConfigError(
            "server_certificate missing: pin the server's certificate, or set "
            "trust_endpoint_certificate to take whatever certificate the endpoint presents"
        )
    return Security(policy, mode, str(cert), str(key), server_cert or None, app_uri)


def endpoint_for(conn: dict) -> str:
    if conn.get("endpoint"):
        return str(conn["endpoint"])
    if not conn.get("host"):
        raise DeviceConfigError("connection needs an endpoint (or host and port)")
    return f"opc.tcp://{conn['host']}:{int(conn.get('port', 4840))}"


def _aware(ts: datetime | None) -> datetime:
    if ts is None:
        return utc_now()
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


class _Notifications:
    """asyncua subscription handler: turns data changes into readings on the shared queue."""

    def __init__(self, collector: OpcUaCollector, device, specs: dict[str, NodeSpec]):
        self.collector, self.device, self.specs = collector, device, specs

    def datachange_notification(self, node, val, data) -> None:
        spec = self.specs.get(node.nodeid.to_string())
        if spec is None:
            return
        dv = data.monitored_item.Value
        if dv.StatusCode is not None and not dv.StatusCode.is_good():
            logger.warning("opcua %s: %s has status %s; value skipped",
                           self.device.serial, spec.node_id, dv.StatusCode.name)
            return
        value = val
        if isinstance(val, bool | int | float):
            value = float(val) * spec.scale
            if not math.isfinite(value):
                value = str(value)  # ingest refuses it and keeps it as a dead letter
        elif val is not None and not isinstance(val, str):
            value = str(val)
        item = {"metric": spec.metric, "ts": _aware(dv.SourceTimestamp or dv.ServerTimestamp), "value": value}
        self.collector.received(self.device, spec.node_id, item)

    def status_change_notification(self, status) -> None:
        logger.warning("opcua %s: subscription status %s", self.device.serial, status)


@dataclass
class OpcUaCollector:
    serials: list[str] = field(default_factory=list)
    allow_insecure: bool = False
    certificate: str | None = None
    private_key: str | None = None
    batch_size: int = 500
    flush_interval_s: float = 0.5
    backoff_base_s: float = 2.0
    backoff_max_s: float = 300.0
    watch_s: float = 5.0
    timeout_s: float = 10.0
    refresh_s: float = 60.0
    max_unsent: int = 100_000
    batches: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    failures: dict[str, int] = field(default_factory=dict)  # serial -> failures since its last session

    def __post_init__(self):
        self._queue: asyncio.Queue = asyncio.Queue()
        self._pending: dict[int, set[str]] = {}  # --once: nodes not heard from yet, per device
        self._tasks: dict[int, tuple[asyncio.Task, dict]] = {}  # device pk -> (session task, connection)
        self._unsent: list[tuple] = []  # (device, reading) a failed write left behind

    def received(self, device, node_id: str, item: dict) -> None:
        self._queue.put_nowait((device, item))
        self._pending.get(device.pk, set()).discard(node_id)

    async def run(self, *, stop: asyncio.Event, once: bool = False, max_batches: int | None = None,
                  duration_s: float | None = None) -> None:
        """Collect until `stop`, `duration_s`, `max_batches` batches, or (`once`) until every
        device delivered a value for each of its nodes or failed. Except with `once`, the
        registry is read again every `refresh_s`: new devices are subscribed, deactivated ones
        dropped, and a device whose connection settings changed is reconnected."""
        loop = asyncio.get_running_loop()
        devices = await load_devices("opcua", self.serials)
        if not devices:
            logger.warning("opcua: no active devices to collect from (yet)")
            if once:
                return
        self._once = once
        if once:
            for device in devices:
                with contextlib.suppress(DeviceConfigError):  # the device's loop reports it
                    self._pending[device.pk] = set(parse_node_ids((device.connection or {}).get("node_ids")))
        self._sync(devices)
        deadline = None if duration_s is None else loop.time() + duration_s
        next_refresh = loop.time() + self.refresh_s
        try:
            while not stop.is_set():
                await self._flush_next(deadline, stop)
                if max_batches is not None and self.batches >= max_batches:
                    break
                if deadline is not None and loop.time() >= deadline:
                    break
                if once and not any(self._pending.values()):
                    break
                if not once and loop.time() >= next_refresh:
                    next_refresh = loop.time() + self.refresh_s
                    try:
                        self._sync(await load_devices("opcua", self.serials))
                    except Exception:
                        logger.exception("opcua: cannot read the device registry; keeping the sessions")
                        await reset_db_connection()
        finally:
            tasks = [task for task, _ in self._tasks.values()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._tasks.clear()
            await self._flush_now()  # what arrived before the end is stored, not lost

    def _sync(self, devices: list) -> None:
        """Start, stop or restart the device sessions to match the registry."""
        wanted = {d.pk: d for d in devices}
        for pk in list(self._tasks):
            task, settings = self._tasks[pk]
            device = wanted.get(pk)
            if device is None or device.connection != settings or task.done():
                if device is None:
                    logger.info("opcua: device %s left the registry; unsubscribing", pk)
                task.cancel()
                del self._tasks[pk]
        for pk, device in wanted.items():
            if pk not in self._tasks:
                task = asyncio.create_task(self._device_loop(device), name=f"opcua-{device.serial}")
                self._tasks[pk] = (task, device.connection)

    async def _flush_next(self, deadline: float | None, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        wait = self.flush_interval_s
        if deadline is not None:
            wait = max(0.0, min(wait, deadline - loop.time()))
        try:
            first = await asyncio.wait_for(self._queue.get(), timeout=wait)
        except TimeoutError:
            if self._unsent:
                await self._ingest_batch([])  # retry what a failed write left
            return
        items = [first]
        end = loop.time() + self.flush_interval_s
        while len(items) < self.batch_size and not stop.is_set():
            try:
                items.append(await asyncio.wait_for(self._queue.get(), timeout=max(0.0, end - loop.time())))
            except TimeoutError:
                break
        await self._ingest_batch(items)

    async def _flush_now(self) -> None:
        items = []
        while not self._queue.empty():
            items.append(self._queue.get_nowait())
        if items or self._unsent:
            await self._ingest_batch(items)
        if self._unsent:
            logger.error("opcua: %d readings could not be stored before exit", len(self._unsent))

    async def _ingest_batch(self, items: list[tuple]) -> None:
        """One ingest call for the batch (each item names its device). When the write
        path fails (database down) the readings are kept, up to `max_unsent`, and go
        first in the next batch: a notification acknowledged by asyncua is not lost."""
        items, self._unsent = self._unsent + items, []
        readings = [{**item, "device": device.serial} for device, item in items]
        try:
            result = await ingest_readings(readings, source="opcua", device=None)
        except Exception:
            logger.exception("opcua: ingest of %d readings failed; kept for the next batch", len(items))
            await reset_db_connection()
            self._unsent = items[-self.max_unsent:]
            if len(items) > len(self._unsent):
                logger.error("opcua: %d readings dropped (more than %d waiting)",
                             len(items) - len(self._unsent), self.max_unsent)
            return
        self.accepted += result.accepted
        self.duplicate += result.duplicate
        self.rejected += result.rejected
        self.batches += 1

    async def _device_loop(self, device) -> None:
        conn = device.connection or {}
        while True:
            try:
                specs = parse_node_ids(conn.get("node_ids"))
                security = security_for(conn, allow_insecure=self.allow_insecure,
                                        certificate=self.certificate, private_key=self.private_key)
                await self._session(device, conn, specs, security)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures = self.failures[device.serial] = self.failures.get(device.serial, 0) + 1
                reason = "timeout" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
                delay = backoff_delay(failures, self.backoff_base_s, self.backoff_max_s)
                logger.error("opcua %s: %s; attempt %d, retrying in %.1f s", device.serial, reason,
                             failures, delay)
                try:
                    await record_error(device, reason[:480])
                except Exception:
                    logger.exception("opcua %s: could not record the error", device.serial)
                if self._once:
                    self._pending.pop(device.pk, None)
                    return
                await asyncio.sleep(delay)

    async def _session(self, device, conn: dict, specs: dict[str, NodeSpec], security: Security) -> None:
        client = Client(endpoint_for(conn), timeout=self.timeout_s)
        client.application_uri = security.application_uri
        if security.insecure:
            logger.warning("opcua %s: security policy None (allowed explicitly): traffic is not "
                           "signed or encrypted", device.serial)
        else:
            await client.set_security(
                getattr(security_policies, f"SecurityPolicy{security.policy}"),
                security.certificate, security.private_key,
                server_certificate=security.server_certificate,
                mode=getattr(ua.MessageSecurityMode, security.mode),
            )
        async with client:
            handler = _Notifications(self, device, specs)
            period = float(conn.get("publishing_interval_ms", 1000))
            subscription = await client.create_subscription(period, handler)
            results = await subscription.subscribe_data_change([client.get_node(n) for n in specs])
            for node_id, result in zip(specs, results if isinstance(results, list) else [results],
                                       strict=False):
                if isinstance(result, ua.StatusCode):
                    logger.error("opcua %s: cannot subscribe to %s: %s", device.serial, node_id, result.name)
                    self._pending.get(device.pk, set()).discard(node_id)
            logger.info("opcua %s: subscribed to %d node(s) (%s)", device.serial, len(specs), security.policy)
            self.failures.pop(device.serial, None)  # the next loss starts the backoff afresh
            while True:  # a dead server surfaces here, and the loop above reconnects
                await asyncio.sleep(self.watch_s)
                await asyncio.wait_for(client.nodes.server_state.read_value(), timeout=self.timeout_s)
