"""The one write path for readings: HTTP, MQTT, pollers, simulator and imports call `ingest`.

    result = ingest([{"device": "INV-1", "metric": "power_w", "ts": "2026-05-01T12:00:00Z",
                      "value": 2150.0}], source="http")
    result.accepted, result.duplicate, result.rejected, result.errors  # [{index, reason}]

Steps, in one transaction:
1. validate each item (known active device and metric, finite value inside the metric's
   plausible range, timestamp within IOT_TS_MAX_AGE_DAYS in the past and IOT_TS_MAX_AHEAD_S
   ahead); refused items become `DeadLetter` rows with the raw item and the reason;
2. binary `COPY` of the valid rows into a session-local staging table, then one
   `INSERT ... SELECT ... ON CONFLICT (device_id, metric_id, ts)` (preceded by an attempt
   to COPY straight into the table, kept when no key exists yet: see `_write`): a row already stored with
   the same value is a duplicate and changes nothing (QoS 1 redelivery and retried HTTP
   batches are exactly-once in effect); a row stored with a different value is a correction
   (counted in `accepted` and in `corrected`); the rollups learn what changed from the
   statement triggers on `iot_reading` (iot/rollups/ddl.py);
3. `Device.last_seen` of every device with a valid reading is set to now; a device whose
   items were all refused gets `last_error`/`last_error_at` (status "error");
4. after commit (`transaction.on_commit`), one aggregated message per device is sent to the
   Channels layer groups

       telemetry.device.<device id>
       telemetry.plant.<plant id>          (when the device has a plant)
       telemetry.community.<community id>  (when the device has a community)

   with `{"type": "telemetry.readings", "device": id, "serial": str, "plant": id|None,
   "community": id|None, "readings": [{"metric": code, "ts": ISO-8601, "value": float}]}`
   (only stored values, newest IOT_LIVE_MAX_READINGS per device, sorted by ts). Consumers
   (websocket, SSE) join those groups; the handler name is `telemetry_readings`.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from psycopg import errors as psycopg_errors

from core.metrics import count_ingested
from iot.ingest.dead_letters import Refusal, dead_letters_record, refusals_record
from iot.ingest.live import LIVE_MESSAGE_TYPE, community_group, device_group, plant_group, publish_live
from iot.ingest.validation import Rejected, parse_ts, parse_value
from iot.models import Device, Metric

# Re-exported: the live group names and dead letters are part of this module's contract.
__all__ = ["LIVE_MESSAGE_TYPE", "IngestResult", "community_group", "dead_letters_record", "device_group",
           "device_mark_error", "ingest", "plant_group", "publish_live"]

STAGE = "iot_reading_stage"


@dataclass
class IngestResult:
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    corrected: int = 0
    errors: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"accepted": self.accepted, "duplicate": self.duplicate, "rejected": self.rejected,
                "corrected": self.corrected, "errors": self.errors}


@dataclass
class _Batch:
    rows: dict = field(default_factory=dict)  # (device_id, metric_id, ts) -> value
    refusals: list[Refusal] = field(default_factory=list)
    in_batch_duplicates: int = 0


def _devices_for(items, device: Device | None, senders: list[str] | None) -> dict[str, Device]:
    if device is not None:
        return {device.serial: device}
    if senders is not None:
        return {d.serial: d for d in Device.objects.filter(serial__in=set(senders))}
    serials = {it.get("device") for it in items if type(it) is dict}
    serials = {s for s in serials if isinstance(s, str)}
    return {d.serial: d for d in Device.objects.filter(serial__in=serials)}


class _Limits:
    def __init__(self):
        now = timezone.now()
        self.oldest = now - timedelta(days=settings.IOT_TS_MAX_AGE_DAYS)
        self.newest = now + timedelta(seconds=settings.IOT_TS_MAX_AHEAD_S)


def _check(item, devices: dict[str, Device], metrics: dict[str, Metric], sender: str | None,
           limits: _Limits) -> tuple[Device, Metric, datetime, float]:
    """The full check of one item (`sender`: the authenticated sender's serial, if any);
    raises Rejected(reason) with `.device` when known."""
    dev = devices.get(sender) if sender is not None else None
    try:
        if not isinstance(item, dict):
            raise Rejected("reading is not an object")
        serial = item.get("device")
        if sender is None:
            dev = devices.get(serial) if isinstance(serial, str) else None
            if dev is None:
                raise Rejected(f"unknown device {serial!r}" if serial else "device missing")
        elif serial is not None and serial != sender:
            raise Rejected(f"device {serial!r} does not match the sending device {sender!r}")
        elif dev is None:
            raise Rejected(f"unknown device {sender!r}")
        if not dev.is_active:
            raise Rejected(f"device {dev.serial!r} is inactive")
        code = item.get("metric")
        metric = metrics.get(code) if isinstance(code, str) else None
        if metric is None:
            raise Rejected(f"unknown metric {code!r}" if code else "metric missing")
        ts = parse_ts(item.get("ts"))
        if ts < limits.oldest:
            raise Rejected(f"timestamp {ts.isoformat()} is older than {settings.IOT_TS_MAX_AGE_DAYS} days")
        if ts > limits.newest:
            raise Rejected(f"timestamp {ts.isoformat()} is in the future")
        value = parse_value(item.get("value"))
        lo = -math.inf if metric.min_value is None else metric.min_value
        hi = math.inf if metric.max_value is None else metric.max_value
        if not lo <= value <= hi:
            raise Rejected(f"value {value:g} outside the plausible range [{lo:g}, {hi:g}] of {metric.code}")
    except Rejected as exc:
        exc.device = dev
        raise
    return dev, metric, ts, value


def _validate(items, devices: dict[str, Device], metrics: dict[str, Metric],
              senders: list[str] | None) -> _Batch:
    """Validate every item. A tight fast path handles well-formed items (the common case, ~1 us
    each); anything unusual falls back to `_check`, which finds the exact reason."""
    limits = _Limits()
    oldest, newest = limits.oldest, limits.newest
    batch = _Batch()
    rows = batch.rows
    dev_ids = {s: d.id for s, d in devices.items() if d.is_active}
    info = {c: (m.id, -math.inf if m.min_value is None else m.min_value,
                math.inf if m.max_value is None else m.max_value) for c, m in metrics.items()}
    isfinite = math.isfinite
    for index, item in enumerate(items):
        try:
            if senders is None:
                dev_id = dev_ids[item["device"]]
            else:
                sender = senders[index]
                dev_id = dev_ids[sender] if item.get("device", sender) == sender else None
            metric_id, lo, hi = info[item["metric"]]
            ts = item["ts"]
            if type(ts) is not datetime:
                ts = parse_ts(ts)
            value = item["value"]
            if type(value) is not float:
                value = parse_value(value)
            if dev_id is None or not (isfinite(value) and lo <= value <= hi and oldest <= ts <= newest):
                raise Rejected("")
        except (KeyError, TypeError, AttributeError, Rejected):
            try:
                sender = senders[index] if senders is not None else None
                dev, metric, ts, value = _check(item, devices, metrics, sender, limits)
            except Rejected as exc:
                batch.refusals.append(Refusal(index, item, str(exc), exc.device))
                continue
            dev_id, metric_id = dev.id, metric.id
        key = (dev_id, metric_id, ts)
        if key in rows:
            batch.in_batch_duplicates += 1  # the last value of a repeated key wins
        rows[key] = value
    return batch


def _metrics() -> dict[str, Metric]:
    return {m.code: m for m in Metric.objects.all()}


def _stage(cursor, rows: dict) -> None:
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} (device_id bigint, metric_id integer, "
        f"ts timestamptz, value double precision) ON COMMIT DELETE ROWS"
    )
    # A second ingest in the same transaction must not see the first one's rows.
    cursor.execute(f"TRUNCATE {STAGE}")
    _copy_rows(cursor, STAGE, rows)


INSERT_SQL = """
INSERT INTO iot_reading (device_id, metric_id, ts, value)
SELECT device_id, metric_id, ts, value FROM iot_reading_stage
ON CONFLICT (device_id, metric_id, ts) DO NOTHING
RETURNING device_id, metric_id, ts, value
"""

# Only when some staged rows were already stored: those with a different value are corrections.
CORRECT_SQL = """
UPDATE iot_reading r SET value = s.value FROM iot_reading_stage s
WHERE r.device_id = s.device_id AND r.metric_id = s.metric_id AND r.ts = s.ts
  AND r.value IS DISTINCT FROM s.value
RETURNING r.device_id, r.metric_id, r.ts, r.value
"""


def _touch_devices(devices_ok: set[int], refusals: list[Refusal]) -> None:
    now = timezone.now()
    if devices_ok:
        Device.objects.filter(id__in=devices_ok).update(last_seen=now)
    failed = {r.device.id: r.reason for r in refusals
              if r.device is not None and r.device.id not in devices_ok}
    for device_id, reason in failed.items():
        Device.objects.filter(id=device_id).update(last_error=reason[:500], last_error_at=now)


def _copy_rows(cursor, table: str, rows: dict) -> None:
    sql = f"COPY {table} (device_id, metric_id, ts, value) FROM STDIN (FORMAT BINARY)"
    # The COPY runs on psycopg's own cursor, outside Django's error translation: without
    # `wrap_database_errors` a connection lost mid-COPY (a PostgreSQL restart) escaped as
    # psycopg.OperationalError, which callers did not recognise as "the database is away"
    # (the MQTT bridge dead-lettered and acknowledged the message instead of retrying).
    with cursor.db.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        copy.set_types(["int8", "int4", "timestamptz", "float8"])
        write = copy.write_row
        for (device_id, metric_id, ts), value in rows.items():
            write((device_id, metric_id, ts, value))


class _RowsView:
    """The validated rows as (device_id, metric_id, ts, value) tuples, without copying them."""

    def __init__(self, rows: dict):
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return ((d, m, ts, v) for (d, m, ts), v in self.rows.items())


def _write(rows: dict) -> tuple[list[tuple] | _RowsView, int]:
    """Store the validated rows; returns (rows inserted or corrected, number inserted).

    Fast path: new readings are the common case (a redelivery or retry is the exception),
    so the rows are first copied straight into iot_reading under a savepoint, as fast as a
    plain COPY. If any key is already stored the COPY fails as a whole, the savepoint rolls
    it back, and the rows take the idempotent path: COPY into the staging table, one
    INSERT ... SELECT ... ON CONFLICT DO NOTHING, then corrections of changed values.
    """
    if not rows:
        return [], 0
    with connection.cursor() as cursor:
        try:
            with transaction.atomic():
                _copy_rows(cursor, "iot_reading", rows)
        except (psycopg_errors.UniqueViolation, IntegrityError):
            pass
        else:
            return _RowsView(rows), len(rows)
        _stage(cursor, rows)
        cursor.execute(INSERT_SQL)
        written = cursor.fetchall()
        inserted = len(written)
        if inserted < len(rows):
            cursor.execute(CORRECT_SQL)
            written += cursor.fetchall()
    return written, inserted


def ingest(items, *, source: str, device: Device | None = None, senders: list[str] | None = None,
           context: dict | None = None) -> IngestResult:
    """Validate and store a batch of readings (see the module docstring). Never raises on
    bad items: they are counted in `rejected`, listed in `errors` and dead-lettered.

    `device` is the authenticated sender (HTTP): items then may omit "device" and an item
    naming another device is refused. `senders` does the same per item (a serial for each
    item, e.g. from each MQTT message's topic). `context` may carry a `topic` for the
    dead letters, or `topics`, one per item.
    """
    items = list(items)
    context = context or {}
    result = IngestResult()
    with transaction.atomic():
        if device is not None:
            senders = [device.serial] * len(items)
        elif senders is not None and len(senders) != len(items):
            raise ValueError("senders must name one serial per item")
        devices = _devices_for(items, device, senders)
        metrics = _metrics()
        batch = _validate(items, devices, metrics, senders)
        written, inserted = _write(batch.rows)
        result.accepted = len(written)
        result.corrected = len(written) - inserted
        result.duplicate = len(batch.rows) - len(written) + batch.in_batch_duplicates
        result.rejected = len(batch.refusals)
        result.errors = [{"index": r.index, "reason": r.reason} for r in batch.refusals]
        if batch.refusals:
            refusals_record(batch.refusals, source, context)
        _touch_devices({key[0] for key in batch.rows}, batch.refusals)
        if written:
            by_id = {d.id: d for d in devices.values()}
            codes = {m.id: m.code for m in metrics.values()}
            transaction.on_commit(lambda: publish_live(written, by_id, codes))
    count_ingested(source, result.accepted, result.rejected)  # Prometheus
    return result


def device_mark_error(*, device: Device, reason: str) -> None:
    """A poller or bridge could not read the device: record why (status becomes "error")."""
    Device.objects.filter(pk=device.pk).update(last_error=reason[:500], last_error_at=timezone.now())
