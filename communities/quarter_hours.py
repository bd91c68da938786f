"""Instants on the 15-minute grid in a community's time zone (Austria's quarter hours).

A "from" value is either a day (its local midnight in the community's zone: the day's first
quarter hour) or a date-time on the quarter-hour grid, local (read in the community's zone)
or with its UTC offset. A local time the clocks skip or repeat at a DST change is refused:
it names no single instant (an offset says which of the repeated hour's two is meant).
Errors are `Invalid` with a machine-readable `error` and the message under `details[field]`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils.translation import gettext

from core.exceptions import Invalid

QUARTER_HOUR = timedelta(minutes=15)


def _invalid(message: str, error: str, field: str) -> Invalid:
    return Invalid(message, details={field: [message]}, error=error)


def parse_from(value, *, field: str = "valid_from") -> date | datetime:
    """A day or a date-time from ISO 8601 text (`2025-03-10`, `2025-03-10T10:15`,
    `2025-03-10 10:15`, `2025-03-10T10:15+01:00`, `...Z`); dates and datetimes pass through."""
    if isinstance(value, datetime | date):
        return value
    text = str(value or "").strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text)
    except ValueError:
        raise _invalid(gettext("Give a day (YYYY-MM-DD) or a date-time on the quarter hour "
                               "(YYYY-MM-DDTHH:MM, optionally with its UTC offset)."),
                       "BadDateTime", field) from None


def local_midnight(day: date, time_zone: str) -> datetime:
    """The first instant of `day` in `time_zone` (aware, in that zone)."""
    tz = ZoneInfo(time_zone)
    start = datetime.combine(day, time(0), tzinfo=tz)
    # a zone whose clocks skip midnight (none in Europe): the day starts at the first real instant
    return start.astimezone(UTC).astimezone(tz)


def quarter_hour_start(value, *, time_zone: str, field: str = "valid_from") -> datetime:
    """The aware instant `value` names in the community's `time_zone` (see the module's
    docstring), checked to sit on the 15-minute grid."""
    try:
        return _quarter_hour_start(parse_from(value, field=field), time_zone, field)
    except OverflowError:  # year 1 or 9999 pushed past the calendar by an offset
        raise _invalid(gettext("Give a day (YYYY-MM-DD) or a date-time on the quarter hour "
                               "(YYYY-MM-DDTHH:MM, optionally with its UTC offset)."),
                       "BadDateTime", field) from None


def _quarter_hour_start(value: date | datetime, time_zone: str, field: str) -> datetime:
    tz = ZoneInfo(time_zone)
    if not isinstance(value, datetime):
        return local_midnight(value, time_zone)
    if value.tzinfo is None or value.utcoffset() is None:
        early, late = value.replace(tzinfo=tz, fold=0), value.replace(tzinfo=tz, fold=1)
        if early.utcoffset() != late.utcoffset():
            # the wall time exists twice (clocks back) or never (clocks forward)
            exists = early.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == value
            if exists:
                raise _invalid(
                    gettext("%(time)s happens twice in %(zone)s (the clocks go back): give its "
                            "UTC offset.") % {"time": value.isoformat(timespec="minutes"), "zone": time_zone},
                    "AmbiguousLocalTime", field)
            raise _invalid(
                gettext("%(time)s does not exist in %(zone)s (the clocks go forward).")
                % {"time": value.isoformat(timespec="minutes"), "zone": time_zone},
                "NonexistentLocalTime", field)
        value = early
    instant = value.astimezone(UTC)
    if instant.timestamp() % QUARTER_HOUR.total_seconds():
        raise _invalid(gettext("A change starts on a quarter hour (:00, :15, :30 or :45)."),
                       "OffQuarterHour", field)
    return instant.astimezone(tz)


def local_iso(instant: datetime | None, time_zone: str) -> str | None:
    """`instant` as a local date-time with its offset (`2025-03-10T10:15:00+01:00`)."""
    return instant.astimezone(ZoneInfo(time_zone)).isoformat() if instant is not None else None
