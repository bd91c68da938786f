"""Rollup rows read as arrays in PostgreSQL's binary format, for the energy readers that
fetch a month of many meters at once (settlement, forecasts).

A query aggregates each (device, metric) with `array_agg(bucket)` and `array_agg(delta)`;
`fetch_binary` returns those arrays as raw bytes and numpy reads them as they are: no
Python object per value, no SQL arithmetic per row (shared/PITFALLS.md)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import psycopg
from django.db import connection
from psycopg.adapt import Loader
from psycopg.pq import Format

_PG_EPOCH_S = 946_684_800  # binary timestamptz: int8 microseconds since 2000-01-01 UTC


class _RawBinary(Loader):
    """Leaves a binary array value as bytes: numpy reads it."""

    format = Format.BINARY

    def load(self, data) -> bytes:
        return bytes(data)


def fetch_binary(sql: str, params: list) -> list[tuple]:
    """The rows of `sql`, its timestamptz[] and float8[] columns as raw binary arrays."""
    connection.ensure_connection()
    # a server-side-binding psycopg cursor (Django's client-side cursors return text only)
    with psycopg.Cursor(connection.connection) as cursor:
        for name in ("timestamptz", "float8"):
            cursor.adapters.register_loader(cursor.adapters.types[name].array_oid, _RawBinary)
        cursor.execute(sql, params, binary=True)
        return cursor.fetchall()


def _values(raw: bytes, dtype: str) -> np.ndarray:
    """The elements of a one-dimensional binary PostgreSQL array without NULLs: a 20-byte
    header (ndim, flags, element type, length, lower bound), then (int4 size, value) pairs."""
    size = np.dtype(dtype).itemsize
    pairs = np.frombuffer(raw, dtype=np.dtype([("len", ">i4"), ("v", dtype)]), offset=20)
    if pairs.size and (pairs["len"] != size).any():
        raise ValueError("unexpected NULL or width in a binary array")
    return pairs["v"]


def bucket_columns(raw: bytes, *, start: datetime, minutes: int) -> np.ndarray:
    """Column index of each bucket of a binary timestamptz[]: (bucket - start) / interval."""
    origin_us = round((start.timestamp() - _PG_EPOCH_S) * 1_000_000)
    return (_values(raw, ">i8").astype(np.int64) - origin_us) // (minutes * 60 * 1_000_000)


def float_values(raw: bytes) -> np.ndarray:
    """The values of a binary float8[] as native floats."""
    return _values(raw, ">f8").astype(float)
