"""Validation of single readings: pure functions, no database access.

A reading is a dict `{"device": serial, "metric": code, "ts": ..., "value": number}`.
`ts` may be an aware datetime, an ISO-8601 string with offset (`Z` allowed), or epoch
seconds (a number above 1e11 is taken as epoch milliseconds, the other common device
format: 1e11 s would be the year 5138).
"""

import math
from datetime import UTC, datetime

EPOCH_MS_THRESHOLD = 1e11


class Rejected(Exception):
    """A reading that cannot be stored; the message is the reason recorded in the dead letter."""


def parse_ts(raw) -> datetime:
    if isinstance(raw, datetime):
        ts = raw
    elif isinstance(raw, str):
        try:
            ts = datetime.fromisoformat(raw)
        except ValueError:
            raise Rejected(f"timestamp {raw[:40]!r} is not ISO-8601") from None
    elif isinstance(raw, int | float) and not isinstance(raw, bool):
        if not math.isfinite(raw):
            raise Rejected("timestamp is not a finite number")
        seconds = raw / 1000 if abs(raw) > EPOCH_MS_THRESHOLD else raw
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            raise Rejected(f"timestamp {raw!r} is out of range") from None
    elif raw is None:
        raise Rejected("timestamp missing")
    else:
        raise Rejected("timestamp must be an ISO-8601 string or epoch seconds")
    if ts.tzinfo is None or (type(raw) is not str and ts.utcoffset() is None):  # ISO offsets are fixed
        raise Rejected("timestamp has no time zone (add Z or an offset)")
    return ts


def parse_value(raw) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        if raw is None:
            raise Rejected("value missing")
        raise Rejected("value is not a number")
    try:
        value = float(raw)
    except OverflowError:
        raise Rejected("value is not a finite number") from None
    if not math.isfinite(value):
        raise Rejected("value is not a finite number")
    return value
