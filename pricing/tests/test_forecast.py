"""The zonal forecast from history (method in the README, Prices and tariffs)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from pricing.forecast import zonal_outlook
from pricing.models import MarketPrice, library_holidays

ROME = ZoneInfo("Europe/Rome")
pytestmark = pytest.mark.django_db


def is_holiday(day: date) -> bool:
    return day in library_holidays("IT", day.year)


def store(day: date, hour: int, price) -> None:
    at = datetime(day.year, day.month, day.day, hour, tzinfo=ROME).astimezone(UTC)
    MarketPrice.objects.update_or_create(
        market_zone="NORD", interval_start=at, resolution_minutes=60,
        defaults={"price_eur_per_mwh": Decimal(str(price)), "source": "demo"})


def outlook(start_local: datetime, hours: int = 1):
    return zonal_outlook(market_zone="NORD", time_zone="Europe/Rome", is_holiday=is_holiday,
                         start=start_local.astimezone(UTC), hours=hours)


def by_type(day: date, hour: int) -> int:
    if day.weekday() == 6 or is_holiday(day):
        return 20 + hour
    return 50 + hour if day.weekday() == 5 else 100 + hour


def fill(first: date, last: date, hours=range(24)) -> None:
    rows, day = [], first
    while day <= last:
        for h in hours:
            at = datetime(day.year, day.month, day.day, h, tzinfo=ROME).astimezone(UTC)
            rows.append(MarketPrice(market_zone="NORD", interval_start=at, resolution_minutes=60,
                                    price_eur_per_mwh=Decimal(by_type(day, h)), source="demo"))
        day += timedelta(days=1)
    MarketPrice.objects.bulk_create(rows, ignore_conflicts=True)


def test_known_hours_are_day_ahead_and_the_others_the_mean_of_the_same_day_type():
    fill(date(2025, 4, 1), date(2025, 5, 7))  # through Wednesday 7 May
    store(date(2025, 5, 6), 12, 140)  # last Tuesday noon: dearer than the rest
    points = outlook(datetime(2025, 5, 7, 22, tzinfo=ROME), hours=40)
    assert points[0] == (datetime(2025, 5, 7, 20, tzinfo=UTC), Decimal("122.000000"), "day_ahead")
    assert points[1][2] == "day_ahead"
    future = {p[0].astimezone(ROME): p for p in points[2:]}
    assert {p[2] for p in future.values()} == {"forecast"}
    # Thursday noon: the last 4 working days at noon are 7, 6, 5 May and 2 May
    # (1 May is a holiday): (112 + 140 + 112 + 112) / 4 = 119.
    assert future[datetime(2025, 5, 8, 12, tzinfo=ROME)][1] == Decimal("119.00")
    assert future[datetime(2025, 5, 8, 23, tzinfo=ROME)][1] == Decimal("123.00")


def test_a_holiday_is_forecast_from_sundays_and_holidays():
    fill(date(2025, 3, 20), date(2025, 4, 24))
    [(_, price, source)] = outlook(datetime(2025, 4, 25, 12, tzinfo=ROME))  # Liberation Day, a Friday
    assert (price, source) == (Decimal("32.00"), "forecast")


def test_it_falls_back_to_the_last_7_days_then_unavailable():
    store(date(2025, 5, 3), 12, 40)  # Saturday
    store(date(2025, 5, 4), 12, 60)  # Sunday
    store(date(2025, 5, 6), 12, 80)  # Tuesday: a single working day is not enough
    [(_, price, source)] = outlook(datetime(2025, 5, 7, 12, tzinfo=ROME))
    assert (price, source) == (Decimal("60.00"), "forecast")
    [(_, price, source)] = outlook(datetime(2025, 5, 7, 13, tzinfo=ROME))
    assert (price, source) == (None, "unavailable")


def test_the_forecast_crosses_a_dst_change_on_local_hours():
    fill(date(2025, 9, 20), date(2025, 10, 25))
    points = outlook(datetime(2025, 10, 26, 0, tzinfo=ROME), hours=25)  # the 25-hour Sunday
    assert len(points) == 25 and {p[2] for p in points} == {"forecast"}
    assert [p[1] for p in points[:4]] == [Decimal(v) for v in ("20.00", "21.00", "22.00", "22.00")]
