"""The evening-before green-window notification (beat task) and the battery-schedule notice,
through the notification service: stored for each member, once per user per day, in the
member's language, listed by the notifications API."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from forecasts.tasks import green_windows_notify_task
from notifications.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued_now(world):
    world.a.plant.capacity_kwp = Decimal("60")
    world.a.plant.save()
    call_command("forecast", "--community", world.a.community.slug, stdout=StringIO())
    return world


def test_members_get_tomorrows_green_windows_once(issued_now, as_user):
    world = issued_now
    world.a.other_member.preferences = {"language": "en"}
    world.a.other_member.save()
    world.a.member.preferences = {"language": "it"}  # each in their own language
    world.a.member.save()
    assert green_windows_notify_task() == 2  # the two members of A; B has no forecast
    mine = Notification.objects.get(user=world.a.other_member, kind="green_window")
    assert "tomorrow: about" in mine.body and "dishwasher" in mine.body
    italian = Notification.objects.get(user=world.a.member, kind="green_window")
    assert "domani: circa" in italian.body and "lavastoviglie" in italian.body
    assert not Notification.objects.filter(user=world.b.member).exists()
    green_windows_notify_task()  # the same evening again: nothing twice
    assert Notification.objects.filter(kind="green_window").count() == 2
    listed = as_user(world.a.other_member).get("/api/v1/notifications").json()
    assert [n["kind"] for n in listed["items"]] == ["green_window"]


def test_the_referent_and_the_owner_hear_of_the_battery_schedule(issued_now):
    from forecasts.steering import battery_schedules_plan, tomorrow
    from iot.testing.registry import make_device
    from plants.models import Asset

    world = issued_now
    world.a.referent.preferences = {"language": "it"}
    world.a.referent.save()
    Asset.objects.create(plant=world.a.plant, kind="battery", capacity_kwh=Decimal("10"),
                         power_kw=Decimal("3"), round_trip_efficiency=Decimal("0.9"))
    make_device("BAT-N", kind="battery", plant=world.a.plant)
    battery_schedules_plan(community=world.a.community, day=tomorrow(world.a.community))
    battery_schedules_plan(community=world.a.community, day=tomorrow(world.a.community))  # midday re-plan
    users = set(Notification.objects.filter(kind="battery_schedule").values_list("user", flat=True))
    assert users == {world.a.referent.pk, world.a.member.pk}  # referent + plant owner, once each
    note = Notification.objects.get(user=world.a.referent, kind="battery_schedule")
    assert note.url == "/forecast/batteries/" and "disattivato" in note.body  # in the referent's language
