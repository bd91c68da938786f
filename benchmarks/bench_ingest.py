"""Ingest service vs plain binary COPY into the same table, side by side in one run.

Rows: 10 devices x 10 metrics x 100 timestamps = 10,000 readings per batch. Batches alternate
between the two paths (each on its own devices, so neither sees the other's rows), then
everything written is deleted. Runs against the configured database (the dev database under
`make bench`), with devices `BENCH-INGEST-*` that are removed afterwards.
"""

import statistics
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

BATCHES = 10
DEVICES = 10
STEPS = 100
CODES = ["power_w", "reactive_power_var", "energy_import_kwh", "energy_export_kwh", "voltage_v",
         "current_a", "soc_pct", "battery_temp_c", "irradiance_wm2", "pv_string_voltage_v"]
START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=2)


def _devices(prefix: str):
    from iot.catalogue import metrics_ensure
    from iot.models import Device

    metrics_ensure()
    return [Device.objects.get_or_create(serial=f"{prefix}-{i}", defaults={"kind": "meter"})[0]
            for i in range(DEVICES)]


def _items(devices, metrics, batch: int) -> list[dict]:
    base = START + timedelta(seconds=batch * STEPS)
    return [
        {"device": d.serial, "metric": m.code, "ts": base + timedelta(seconds=s), "value": float(s % 50)}
        for d in devices for m in metrics for s in range(STEPS)
    ]


def _copy(rows) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        sql = "COPY iot_reading (device_id, metric_id, ts, value) FROM STDIN (FORMAT BINARY)"
        with cursor.cursor.copy(sql) as copy:
            copy.set_types(["int8", "int4", "timestamptz", "float8"])
            for row in rows:
                copy.write_row(row)


def _cleanup(devices) -> None:
    from iot.devices.services import device_delete

    for device in devices:
        device_delete(device=device)


def run() -> dict:
    settings.MQTT_AUTO_SYNC_AUTH = False  # bench devices never go into the dev broker's files
    from iot.ingest.partitions import partitions_ensure
    from iot.ingest.service import ingest
    from iot.models import Metric

    partitions_ensure(months_ahead=1, months_back=1)
    ingest_devices = _devices("BENCH-INGEST-SVC")
    copy_devices = _devices("BENCH-INGEST-COPY")
    metrics = list(Metric.objects.filter(code__in=CODES).order_by("id"))
    ingest_s, copy_s, accepted = [], [], 0
    try:
        for batch in range(BATCHES):
            items = _items(ingest_devices, metrics, batch)
            started = time.perf_counter()
            result = ingest(items, source="import")
            ingest_s.append(time.perf_counter() - started)
            accepted += result.accepted

            rows = [(d.id, m.id, START + timedelta(seconds=batch * STEPS + s), float(s % 50))
                    for d in copy_devices for m in metrics for s in range(STEPS)]
            started = time.perf_counter()
            _copy(rows)
            copy_s.append(time.perf_counter() - started)
        # Redelivery of an already stored batch: every reading a duplicate.
        started = time.perf_counter()
        again = ingest(_items(ingest_devices, metrics, 0), source="import")
        duplicate_s = time.perf_counter() - started
    finally:
        _cleanup(ingest_devices + copy_devices)
    batch_size = DEVICES * len(CODES) * STEPS
    ingest_rate = batch_size * BATCHES / sum(ingest_s)
    copy_rate = batch_size * BATCHES / sum(copy_s)
    return {
        "batch_readings": batch_size,
        "batches": BATCHES,
        "accepted": accepted,
        "ingest_readings_per_s": round(ingest_rate),
        "ingest_batch_p50_ms": round(statistics.median(ingest_s) * 1000, 1),
        "copy_rows_per_s": round(copy_rate),
        "copy_batch_p50_ms": round(statistics.median(copy_s) * 1000, 1),
        "ratio_ingest_to_copy": round(ingest_rate / copy_rate, 2),
        "goal_ratio": 0.5,
        "duplicate_batch_readings_per_s": round(batch_size / duplicate_s),
        "duplicate_batch_all_duplicates": again.duplicate == batch_size,
    }
