"""Query-string parsing shared by the telemetry read endpoints: every bad value becomes a
400 envelope naming the parameter."""

import calendar
from datetime import UTC, date, datetime

import orjson
from django.http import HttpResponse
from django.utils.dateparse import parse_date, parse_datetime

from core.errors import ApiError


def bad(name: str, message: str) -> ApiError:
    return ApiError(f"{name}: {message}", details={name: [message]})


def json_response(data, status: int = 200) -> HttpResponse:
    """orjson straight to bytes: series are lists of floats and datetimes, no serializer."""
    return HttpResponse(orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
                        content_type="application/json", status=status)


def datetime_param(request, name: str) -> datetime | None:
    """ISO-8601 datetime (naive = UTC) or a date (its UTC midnight)."""
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return None
    if "T" in raw and " " in raw:  # an unencoded "+01:00" offset arrives as " 01:00"
        raw = raw.replace(" ", "+")
    try:
        value = parse_datetime(raw)
        if value is None:
            day = parse_date(raw)
            value = datetime(day.year, day.month, day.day) if day else None
    except ValueError:
        value = None
    if value is None:
        raise bad(name, "not an ISO-8601 date or datetime.")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def date_param(request, name: str, *, month_end: bool = False) -> date | None:
    """YYYY-MM-DD, or YYYY-MM (the month's first day, or its last with `month_end`)."""
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return None
    try:
        if len(raw) == 7:
            year, month = (int(p) for p in raw.split("-"))
            last = calendar.monthrange(year, month)[1]
            return date(year, month, last if month_end else 1)
        value = parse_date(raw)
    except ValueError:
        value = None
    if value is None:
        raise bad(name, "not a date (YYYY-MM-DD or YYYY-MM).")
    return value


def int_param(request, name: str, *, default: int | None = None, lo: int = 1, hi: int | None = None):
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad(name, "a whole number is required.")
    if value < lo or (hi is not None and value > hi):
        raise bad(name, f"must be between {lo} and {hi}." if hi else f"must be at least {lo}.")
    return value


def choice_param(request, name: str, choices, default: str) -> str:
    value = request.query_params.get(name, "").strip() or default
    if value not in choices:
        raise bad(name, f"must be one of {', '.join(choices)}.")
    return value
