"""The zonal price of hours whose day-ahead price is not known yet, forecast from history.

Method (also in the README): for a target hour at local hour h on a day of type T
(working day Mon-Fri, Saturday, or Sunday/national holiday), the mean of the stored prices
at local hour h on the last 4 earlier days of type T that have one, looking back at most
35 days; with fewer than 2 such days, the mean of local hour h over the last 7 days; with
none, unavailable. Only stored day-ahead prices enter (never earlier forecasts), so the
forecast of an hour does not drift with repeated calls.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from pricing.selectors import zonal_prices

SAME_TYPE_DAYS = 4
MIN_SAME_TYPE_DAYS = 2
LOOKBACK_DAYS = 35
FALLBACK_DAYS = 7
EUR_PER_MWH = Decimal("0.01")

DAY_AHEAD, FORECAST, UNAVAILABLE = "day_ahead", "forecast", "unavailable"


def day_type(day: date, is_holiday: Callable[[date], bool]) -> str:
    if day.weekday() == 6 or is_holiday(day):
        return "holiday"
    return "saturday" if day.weekday() == 5 else "workday"


def _mean(values: list[Decimal]) -> Decimal:
    return (sum(values) / len(values)).quantize(EUR_PER_MWH)


def zonal_outlook(*, market_zone: str, time_zone: str, is_holiday: Callable[[date], bool],
                  start: datetime, hours: int) -> list[tuple[datetime, Decimal | None, str]]:
    """`hours` hourly points from `start` (UTC hour): (start, EUR/MWh or None, source)."""
    tz = ZoneInfo(time_zone)
    end = start + timedelta(hours=hours)
    series = zonal_prices(market_zone=market_zone, start=start - timedelta(days=LOOKBACK_DAYS + 1), end=end)
    known = {p.start: p.price_eur_per_mwh for p in series if not p.missing}
    out, t = [], start
    while t < end:
        if t in known:
            out.append((t, known[t], DAY_AHEAD))
        else:
            price = _forecast(t, known, tz, is_holiday)
            out.append((t, price, FORECAST if price is not None else UNAVAILABLE))
        t += timedelta(hours=1)
    return out


def _at_local_hour(day: date, hour: int, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=tz).astimezone(UTC)


def _forecast(t: datetime, known: dict, tz: ZoneInfo, is_holiday) -> Decimal | None:
    local = t.astimezone(tz)
    target_type = day_type(local.date(), is_holiday)
    same: list[Decimal] = []
    for back in range(1, LOOKBACK_DAYS + 1):
        day = local.date() - timedelta(days=back)
        if day_type(day, is_holiday) != target_type:
            continue
        price = known.get(_at_local_hour(day, local.hour, tz))
        if price is not None:
            same.append(price)
            if len(same) == SAME_TYPE_DAYS:
                break
    if len(same) >= MIN_SAME_TYPE_DAYS:
        return _mean(same)
    recent = [known.get(_at_local_hour(local.date() - timedelta(days=back), local.hour, tz))
              for back in range(1, FALLBACK_DAYS + 1)]
    recent = [p for p in recent if p is not None]
    return _mean(recent) if recent else None
