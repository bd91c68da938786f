# ruff: noqa: S608  - the table name comes from iot.read.selectors.ROLLUP_TABLES; values are bound.
"""Measured energy per subject and interval, read from the IoT rollups as dense arrays.

One query per (metric, subjects): one aggregate per device (PITFALLS.md: fetch arrays, not
ORM rows), scattered into a (subjects, intervals) float array, NaN where nothing was
measured. A subject with several devices sums them. The aggregates are bytea of big-endian
int8 / float8 (`int8send`, `float8send`), which numpy reads as they are: `array_agg` made a
Python int and float per value, 2.5x slower for 1,000 meters at 15 minutes
(`benchmarks/bench_forecast.py`), same values to the bit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from django.db import connection

from iot.read.selectors import ROLLUP_TABLES

PRODUCED = "energy_produced_kwh"
IMPORTED = "energy_import_kwh"
EXPORTED = "energy_export_kwh"
CHARGED = "energy_charged_kwh"
DISCHARGED = "energy_discharged_kwh"


def energy_matrix(*, devices_by_subject: list[list[int]], metric: str, start: datetime, steps: int,
                  step_minutes: int) -> np.ndarray:
    """(len(devices_by_subject), steps) kWh per interval [start + i step, ...)."""
    out = np.full((len(devices_by_subject), steps), np.nan)
    row_of: dict[int, int] = {}
    for row, device_ids in enumerate(devices_by_subject):
        for device_id in device_ids:
            row_of[device_id] = row
    if not row_of or steps <= 0:
        return out
    table = ROLLUP_TABLES["15m" if step_minutes == 15 else "1h"]
    end = start + timedelta(minutes=step_minutes * steps)
    # both aggregates of a group see its rows in the same order: offsets and deltas pair up
    sql = (f"SELECT x.device_id, string_agg(int8send(date_part('epoch', x.bucket - %s)::int8), ''::bytea),"
           " string_agg(float8send(x.delta), ''::bytea)"
           f" FROM {table} x JOIN iot_metric m ON m.id = x.metric_id"
           " WHERE m.code = %s AND x.device_id = ANY(%s) AND x.bucket >= %s AND x.bucket < %s"
           " AND x.delta IS NOT NULL GROUP BY x.device_id")
    with connection.cursor() as cursor:
        cursor.execute(sql, [start, metric, list(row_of), start, end])
        rows = cursor.fetchall()
    step_s = step_minutes * 60
    for device_id, offsets, deltas in rows:
        cols = np.frombuffer(offsets, dtype=">i8").astype(np.int64) // step_s
        vals = np.frombuffer(deltas, dtype=">f8").astype(float)
        row = row_of[device_id]
        current = out[row, cols]
        out[row, cols] = np.where(np.isnan(current), vals, current + vals)
    return out
