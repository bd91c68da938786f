"""ARERA F1/F2/F3 bands, resolved from the seeded band table on local Italian time."""

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from pricing.models import BandRule
from pricing.selectors import supply_price
from pricing.tests.conftest import tou_tariff

ROME = ZoneInfo("Europe/Rome")
pytestmark = pytest.mark.django_db


def band(scheme, y, m, d, hh, mm=0):
    return scheme.band_at(datetime(y, m, d, hh, mm, tzinfo=ROME))


@pytest.mark.parametrize(("hh", "mm", "expected"), [
    (0, 0, "F3"), (6, 59, "F3"), (7, 0, "F2"), (7, 59, "F2"), (8, 0, "F1"), (18, 59, "F1"),
    (19, 0, "F2"), (22, 59, "F2"), (23, 0, "F3"), (23, 59, "F3"),
])
def test_it_bands_a_working_day_on_the_boundaries(scheme, hh, mm, expected):
    assert band(scheme, 2025, 3, 12, hh, mm) == expected  # a Wednesday


@pytest.mark.parametrize(("hh", "expected"), [(6, "F3"), (7, "F2"), (12, "F2"), (22, "F2"), (23, "F3")])
def test_it_bands_saturday(scheme, hh, expected):
    assert band(scheme, 2025, 3, 15, hh) == expected


@pytest.mark.parametrize("hh", [0, 7, 8, 12, 19, 23])
def test_it_bands_sunday_and_holidays_all_f3(scheme, hh):
    assert band(scheme, 2025, 3, 16, hh) == "F3"  # Sunday
    assert band(scheme, 2025, 4, 21, hh) == "F3"  # Easter Monday 2025
    assert band(scheme, 2025, 4, 25, hh) == "F3"  # Liberation Day, a Friday
    assert band(scheme, 2026, 4, 6, hh) == "F3"  # Easter Monday 2026
    assert band(scheme, 2025, 12, 26, hh) == "F3"  # Santo Stefano, a Friday


def test_the_day_after_easter_monday_is_a_working_day(scheme):
    assert band(scheme, 2025, 4, 22, 10) == "F1"


def test_it_bands_a_dst_day_on_local_time(scheme):
    # Friday 2025-10-24 is an ordinary day; DST days fall on Sundays, so test the local
    # hour across the change: 2025-03-30 (Sunday) is F3 all day, Monday after is normal.
    spring_utc = datetime(2025, 3, 31, 6, 0, tzinfo=UTC)  # 08:00 CEST, already summer time
    assert scheme.band_at(spring_utc.astimezone(ROME)) == "F1"
    assert scheme.band_at(datetime(2025, 3, 31, 5, 59, tzinfo=UTC).astimezone(ROME)) == "F2"
    # the 25-hour autumn day: both 02:xx (CEST and CET) are F3
    for utc_hour in (0, 1):
        assert scheme.band_at(datetime(2025, 10, 26, utc_hour, 30, tzinfo=UTC).astimezone(ROME)) == "F3"


def test_an_operator_corrects_the_band_table_and_the_holidays(scheme):
    # Saturday 07-23 becomes F3 by editing the data, not the code.
    BandRule.objects.filter(scheme=scheme, band="F2", weekdays=[5]).update(band="F3")
    scheme.refresh_from_db()
    assert band(scheme, 2025, 3, 15, 12) == "F3"
    scheme.removed_holidays = [date(2025, 4, 25)]
    scheme.added_holidays = [date(2025, 3, 12)]
    scheme.save()
    assert band(scheme, 2025, 4, 25, 12) == "F1"
    assert band(scheme, 2025, 3, 12, 12) == "F3"


def test_supply_price_resolves_the_band_in_the_communitys_time_zone(world, scheme):
    tariff = tou_tariff(world.a.community, scheme)
    # 07:30 UTC is 08:30 in Rome (winter): F1, although it is 07:xx in UTC.
    got = supply_price(community=world.a.community, at=datetime(2025, 3, 12, 7, 30, tzinfo=UTC))
    assert got == (Decimal("0.300000"), "F1", tariff.pk)
    world.a.community.time_zone = "Europe/London"
    got = supply_price(community=world.a.community, at=datetime(2025, 3, 12, 7, 30, tzinfo=UTC))
    assert got.band == "F2"
