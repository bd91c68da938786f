"""Consumption CSV upload: a timestamp column and one column per member, kWh per interval.

Every problem is reported with its row (1 = header) and column, and nothing runs on a bad
file. Naive timestamps are local time in the scenario's time zone (the repeated autumn
hour is told apart by its order); ISO 8601 with an offset or Z is taken as given.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.utils.translation import gettext

from core.exceptions import Invalid

MAX_ROWS = 40_000
MAX_PROBLEMS = 200
TIMESTAMP_HEADERS = {"timestamp", "time", "datetime", "interval_start", "date", "ts"}
# Above this a member's energy per hour looks like W or Wh, not kWh (a 2 MW meter).
MAX_KWH_PER_HOUR = 2000.0
_UNIT = re.compile(r"^(?P<name>.*?)\s*(?:[\[(](?P<unit>[^\])]+)[\])]|_(?P<suffix>kwh|wh|w|kw|mwh))\s*$", re.I)


@dataclass
class Consumption:
    index: pd.DatetimeIndex  # UTC interval starts
    curves_kwh: dict[str, np.ndarray]


class _Problems:
    def __init__(self):
        self.items: list[dict] = []
        self.truncated = False

    def add(self, row: int, column: str, problem: str) -> None:
        if len(self.items) >= MAX_PROBLEMS:
            self.truncated = True
            return
        self.items.append({"row": row, "column": column, "problem": problem})

    def raise_if_any(self) -> None:
        if self.items:
            raise Invalid(
                gettext("The consumption CSV has %(count)s problem(s); nothing was run.")
                % {"count": f"{len(self.items)}{'+' if self.truncated else ''}"},
                error="InvalidCSV",
                details={"problems": self.items, "truncated": self.truncated},
            )


def _column_name(raw: str, col_no: int, problems: _Problems) -> str:
    text = raw.strip()
    match = _UNIT.match(text)
    if not match:
        return text
    unit = (match.group("unit") or match.group("suffix") or "").strip().lower()
    if unit != "kwh":
        problems.add(1, text, f"wrong unit {unit!r}: expected energy per interval in kWh")
    return match.group("name").strip()


def _parse_timestamps(
    raw: list[str], rows: list[int], tz: str, problems: _Problems
) -> pd.DatetimeIndex | None:
    parsed: list[pd.Timestamp | None] = []
    for text, row in zip(raw, rows, strict=True):
        try:
            ts = pd.Timestamp(text.strip())
            if pd.isna(ts):
                raise ValueError
        except (ValueError, TypeError):
            problems.add(row, "timestamp", f"bad timestamp {text!r}: use ISO 8601, e.g. 2025-01-01T00:00")
            parsed.append(None)
            continue
        parsed.append(ts)
    good = [p for p in parsed if p is not None]
    if len(good) != len(parsed) or not good:
        return None
    naive = [p.tzinfo is None for p in good]
    if any(naive) and not all(naive):
        problems.add(rows[naive.index(not naive[0])], "timestamp", "mixes timestamps with and without offset")
        return None
    if all(naive):
        try:
            return (
                pd.DatetimeIndex(good)
                .tz_localize(tz, ambiguous="infer", nonexistent="raise")
                .tz_convert("UTC")
            )
        except Exception as exc:  # pandas raises several types for DST trouble
            problems.add(rows[0], "timestamp", f"local times do not fit the {tz} calendar: {exc}")
            return None
    return pd.DatetimeIndex([p.tz_convert("UTC") for p in good])


def _check_sequence(
    index: pd.DatetimeIndex, rows: list[int], step: pd.Timedelta, problems: _Problems
) -> None:
    minutes = int(step / pd.Timedelta(minutes=1))
    for i, ts in enumerate(index):
        if (ts.minute % minutes) or ts.second:
            problems.add(rows[i], "timestamp", f"{ts.isoformat()} is not on the {minutes}-minute grid")
        if i == 0:
            continue
        diff = ts - index[i - 1]
        if diff == pd.Timedelta(0):
            problems.add(rows[i], "timestamp", f"duplicate of row {rows[i - 1]} ({ts.isoformat()})")
        elif diff < pd.Timedelta(0):
            problems.add(rows[i], "timestamp", "out of order: earlier than the row before")
        elif diff > step:
            missing = int(diff / step) - 1
            problems.add(
                rows[i], "timestamp", f"gap: {missing} missing interval(s) after {index[i - 1].isoformat()}"
            )


def parse_consumption_csv(data: bytes, *, resolution_minutes: int, time_zone: str) -> Consumption:
    problems = _Problems()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.add(1, "", "the file is not UTF-8 text")
        problems.raise_if_any()
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    reader = [r for r in reader if any(cell.strip() for cell in r)]
    if len(reader) < 2:
        problems.add(1, "", "expected a header row and at least one data row")
        problems.raise_if_any()
    if len(reader) - 1 > MAX_ROWS:
        problems.add(MAX_ROWS + 2, "", f"too many rows (max {MAX_ROWS})")
        problems.raise_if_any()
    header = reader[0]
    if header[0].strip().lower() not in TIMESTAMP_HEADERS:
        problems.add(1, header[0], "the first column must be the timestamp (header 'timestamp')")
    names = [_column_name(h, j, problems) for j, h in enumerate(header[1:], start=2)]
    if not names:
        problems.add(1, "", "no member column after the timestamp")
    seen: set[str] = set()
    for name in names:
        if not name:
            problems.add(1, name, "empty column name")
        elif name in seen:
            problems.add(1, name, "duplicate column name")
        seen.add(name)
    rows = list(range(2, len(reader) + 1))
    values = np.zeros((len(names), len(reader) - 1))
    for i, record in enumerate(reader[1:]):
        row = i + 2
        if len(record) != len(header):
            problems.add(row, "", f"expected {len(header)} cells, found {len(record)}")
            continue
        for j, name in enumerate(names):
            cell = record[j + 1].strip().replace(",", ".") if delimiter == ";" else record[j + 1].strip()
            if cell == "":
                problems.add(row, name, "missing value")
                continue
            try:
                value = float(cell)
            except ValueError:
                problems.add(row, name, f"not a number: {cell!r}")
                continue
            if not np.isfinite(value):
                problems.add(row, name, f"not a finite number: {cell!r}")
            elif value < 0:
                problems.add(row, name, f"negative energy {value}: consumption must be >= 0 kWh")
            values[j, i] = value
    step = pd.Timedelta(minutes=resolution_minutes)
    index = _parse_timestamps([r[0] for r in reader[1:]], rows, time_zone, problems)
    if index is not None:
        _check_sequence(index, rows, step, problems)
    limit = MAX_KWH_PER_HOUR * resolution_minutes / 60.0
    for j, name in enumerate(names):
        if values.shape[1] and values[j].max() > limit:
            at = int(values[j].argmax())
            problems.add(
                rows[at],
                name,
                f"implausible {values[j].max():g} kWh in one interval: the values "
                "look like W or Wh; expected kWh per interval",
            )
    problems.raise_if_any()
    return Consumption(index=index, curves_kwh={name: values[j] for j, name in enumerate(names)})
