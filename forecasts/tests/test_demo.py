"""`make run`'s demo data (issue 12): the demo community has weeks of history, two weeks of
scored day-ahead forecasts, today's forecast, battery schedules waiting to be sent and its
members told tomorrow's green windows; seeding again adds nothing twice."""

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from forecasts.demo import SCORED_DAYS
from forecasts.models import BatterySchedule, Forecast, ForecastScore, ForecastSettings
from iot.models import Reading

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_the_demo_community_has_forecasts_scores_windows_and_battery_schedules():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "days scored" in out.getvalue()
    latest = Forecast.objects.order_by("-issued_at").first()
    community = latest.community
    assert timezone.now() - latest.issued_at < timezone.timedelta(minutes=30)
    assert Forecast.objects.filter(issued_at=latest.issued_at, kind="plant").count() == 6  # the demo plants
    scores = ForecastScore.objects.filter(community=community, kind="community")
    assert len(set(scores.values_list("day", flat=True))) == SCORED_DAYS == 14
    schedules = BatterySchedule.objects.filter(community=community)
    assert schedules.count() == 6 and {s.asset.kind for s in schedules} == {"battery"}  # 3 batteries x 2 days
    assert ForecastSettings.objects.get(community=community).battery_steering
    readings = Reading.objects.count()
    windows = set(community.memberships.values_list("user_id", flat=True))
    from notifications.models import Notification

    told = set(Notification.objects.filter(kind="green_window").values_list("user_id", flat=True))
    assert told in (set(), windows)  # a December day may have no surplus; else every member hears

    call_command("seed_demo", stdout=io.StringIO())
    assert Reading.objects.count() - readings < 200  # only the hours since the first seed
    assert len(set(scores.values_list("day", flat=True))) == SCORED_DAYS
