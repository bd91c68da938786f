"""Reading the allocation CSV files: all-or-nothing, every bad line reported with its
number and column (the caller raises one `Invalid` and writes nothing)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

MAX_BYTES = 20 * 1024 * 1024
MAX_ERRORS = 20


class FileErrors(Exception):
    """The file cannot be imported: `messages` say where and why."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


def read_rows(data: bytes, *, required: tuple[str, ...], aliases: dict[str, str]) -> list[tuple[int, dict]]:
    """(line number, {canonical column: text}) of a CSV with a header (comma or semicolon,
    UTF-8 with or without BOM). Columns are matched case-insensitively through `aliases`."""
    if len(data) > MAX_BYTES:
        raise FileErrors([_("The file is larger than %(mb)d MB.") % {"mb": MAX_BYTES // (1024 * 1024)}])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileErrors([_("The file is not UTF-8 text.")]) from None
    if not text.strip():
        raise FileErrors([_("The file is empty.")])
    first = text.splitlines()[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [aliases.get(h.strip().lower(), h.strip().lower()) for h in next(reader)]
        missing = [c for c in required if c not in header]
        if missing:
            raise FileErrors([_("Missing columns: %(cols)s.") % {"cols": ", ".join(missing)}])
        rows = []
        for number, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            values = {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header)}
            rows.append((number, values))
    except csv.Error as exc:
        raise FileErrors([_("Not a readable CSV file: %(error)s") % {"error": exc}]) from None
    if not rows:
        raise FileErrors([_("The file has no data rows.")])
    return rows


def parse_instant(text: str, *, step_minutes: int) -> datetime:
    """An aware ISO 8601 instant on a `step_minutes` boundary (ValueError otherwise)."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(_("not an ISO 8601 time")) from None
    if value.tzinfo is None:
        raise ValueError(_("the time needs its UTC offset"))
    if value.second or value.microsecond or value.minute % step_minutes:
        raise ValueError(_("not on a %(step)d-minute boundary") % {"step": step_minutes})
    return value


def parse_kwh(text: str, *, optional: bool = False) -> Decimal | None:
    """Non-negative kWh with up to 6 decimals ('.' or ',' as decimal mark)."""
    if text == "":
        if optional:
            return None
        raise ValueError(_("a value is required"))
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        raise ValueError(_("not a number")) from None
    if not value.is_finite() or value < 0:
        raise ValueError(_("must be a non-negative number"))
    if value.as_tuple().exponent < -6 or value >= Decimal("1e8"):
        raise ValueError(_("at most 6 decimals and below 100,000,000"))
    return value


def parse_share(text: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        raise ValueError(_("not a number")) from None
    if not value.is_finite() or not 0 <= value <= 1:
        raise ValueError(_("must be between 0 and 1"))
    if value.as_tuple().exponent < -8:
        raise ValueError(_("at most 8 decimals"))
    return value


def line_error(number: int, column: str, message: str) -> str:
    return _("line %(line)d, %(column)s: %(message)s") % {
        "line": number, "column": column, "message": message}


STEP = timedelta(minutes=15)
