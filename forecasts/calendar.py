"""Time grids and calendar features (local time of the community)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from simulation.physics.load import national_holidays


def step_minutes_of(community) -> int:
    """The settlement step: 15 minutes in France and Austria, an hour in Italy (DOMAIN.md)."""
    return 15 if community.regime in ("fr_acc", "at_eeg") else 60


def floor_step(at: datetime, minutes: int) -> datetime:
    at = at.astimezone(UTC).replace(second=0, microsecond=0)
    return at - timedelta(minutes=at.minute % minutes)


def grid(start: datetime, steps: int, minutes: int) -> pd.DatetimeIndex:
    return pd.date_range(pd.Timestamp(start).tz_convert("UTC"), periods=steps, freq=f"{minutes}min")


def features(index: pd.DatetimeIndex, time_zone: str) -> dict[str, np.ndarray]:
    """Local hour (fractional), weekday, holiday-or-Sunday flag and day of year per interval."""
    local = index.tz_convert(time_zone)
    years = sorted(set(local.year))
    holidays = set().union(*(national_holidays(int(y)) for y in years)) if years else set()
    dates = local.date
    holiday = np.array([d in holidays for d in dates], dtype=float)
    dow = local.day_of_week.to_numpy().astype(float)
    return {
        "hour": (local.hour + local.minute / 60.0).to_numpy().astype(float),
        "dow": dow,
        "holiday": np.maximum(holiday, (dow == 6).astype(float)),
        "doy": local.day_of_year.to_numpy().astype(float),
    }


def local_day_bounds(day, time_zone: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC of a local calendar day (23 or 25 hours on DST days)."""
    start = pd.Timestamp(day).tz_localize(time_zone)
    end = (pd.Timestamp(day) + pd.Timedelta(days=1)).tz_localize(time_zone)
    return start.tz_convert("UTC").to_pydatetime(), end.tz_convert("UTC").to_pydatetime()


def zone(name: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)
