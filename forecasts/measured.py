# ruff: noqa: S608  - the table name comes from iot.read.selectors.ROLLUP_TABLES; values are bound.
"""Measured energy per subject and interval, read from the IoT rollups as dense arrays.

One query per (metric, subjects): one aggregate per device (PITFALLS.md: fetch arrays, not
ORM rows), scattered into a (subjects, intervals) float array, NaN where nothing was
measured. A subject with several devices sums them.

Each device's aggregate is a LATERAL subquery over a range of the rollup's primary key
(device, metric, bucket), as `settlement.selectors._meter_arrays`: PostgreSQL neither sorts
nor hashes the rows (a GROUP BY over the join sorted 2.9 million rows for 1,000 meters at
15 minutes), and the arrays travel in PostgreSQL's binary format (buckets as raw int8
microseconds, deltas as float8), which numpy reads as they are: no Python object per value
and no SQL arithmetic per row (`benchmarks/bench_forecast.py`; same values to the bit as the
`array_agg` lists and the bytea `string_agg` before it).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from iot.read.selectors import ROLLUP_TABLES
from iot.rollups.arrays import bucket_columns, fetch_binary, float_values

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
    # both aggregates of a device see its rows in the same (primary key) order: buckets and
    # deltas pair up
    sql = ("SELECT d.id, a.buckets, a.kwh FROM unnest(%s::bigint[]) AS d(id)"
           " CROSS JOIN (SELECT id FROM iot_metric WHERE code = %s) AS m"
           " CROSS JOIN LATERAL (SELECT array_agg(x.bucket) AS buckets, array_agg(x.delta) AS kwh"
           f"   FROM {table} x WHERE x.device_id = d.id AND x.metric_id = m.id"
           "    AND x.bucket >= %s AND x.bucket < %s AND x.delta IS NOT NULL) AS a"
           " WHERE a.buckets IS NOT NULL")
    for device_id, buckets, deltas in fetch_binary(sql, [list(row_of), metric, start, end]):
        cols = bucket_columns(buckets, start=start, minutes=step_minutes)
        vals = float_values(deltas)
        row = row_of[device_id]
        current = out[row, cols]
        out[row, cols] = np.where(np.isnan(current), vals, current + vals)
    return out
