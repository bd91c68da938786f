"""Offline detection: one alert per outage, referents emailed, closed when data comes back."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from iot.alerts import device_offline_check
from iot.ingest.service import ingest
from iot.models import Alert, Device
from iot.testing.registry import make_device
from notifications.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager_tasks():
    """Celery tasks run inline: the notification outbox's email lands in `mailoutbox`."""
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def meter(world):
    device, _ = make_device("AL-MTR-A", kind="meter", plant=world.a.plant, expected_interval_s=60)
    return device


def go_silent(device, minutes: int):
    Device.objects.filter(pk=device.pk).update(last_seen=timezone.now() - timedelta(minutes=minutes))


def test_it_opens_one_alert_per_outage_and_emails_the_referents_and_the_owner(
        world, meter, mailoutbox, django_capture_on_commit_callbacks, eager_tasks):
    go_silent(meter, 10)  # 3 expected intervals of 60 s = 3 minutes

    with django_capture_on_commit_callbacks(execute=True):
        first = device_offline_check()
    with django_capture_on_commit_callbacks(execute=True):
        second = device_offline_check()

    assert (first, second) == ({"opened": 1, "closed": 0}, {"opened": 0, "closed": 0})
    (alert,) = Alert.objects.filter(device=meter)
    assert alert.kind == "offline" and alert.is_open and alert.notified_at is not None
    assert sorted(m.to[0] for m in mailoutbox) == sorted([world.a.referent.email, world.a.member.email])
    mail = mailoutbox[0]
    assert "AL-MTR-A" in mail.body and "offline" in mail.subject
    # through the notification service: in-app for both, once each, linking to the device
    notes = Notification.objects.filter(kind="device_offline")
    assert sorted(n.user_id for n in notes) == sorted([world.a.referent.pk, world.a.member.pk])
    assert {n.url for n in notes} == {f"/iot/devices/{meter.pk}/"}
    assert not Notification.objects.filter(user__in=[world.a.other_member, world.b.referent]).exists()


def test_it_closes_the_outage_when_data_comes_back(world, meter, mailoutbox,
                                                    django_capture_on_commit_callbacks, eager_tasks):
    go_silent(meter, 10)
    device_offline_check()
    ingest([{"device": meter.serial, "metric": "power_w", "ts": timezone.now(), "value": 5.0}], source="http")

    with django_capture_on_commit_callbacks(execute=True):
        counts = device_offline_check()

    assert counts == {"opened": 0, "closed": 1}
    outage, = Alert.objects.filter(device=meter, kind="offline")
    assert outage.closed_at is not None
    back, = Alert.objects.filter(device=meter, kind="back_online")
    assert "sending data again" in back.message
    assert [m.subject for m in mailoutbox][-1].endswith(": back online")


def test_a_new_outage_after_recovery_opens_a_new_alert(world, meter):
    go_silent(meter, 10)
    device_offline_check()
    ingest([{"device": meter.serial, "metric": "power_w", "ts": timezone.now(), "value": 5.0}], source="http")
    device_offline_check()
    go_silent(meter, 10)

    assert device_offline_check() == {"opened": 1, "closed": 0}
    assert list(Alert.objects.filter(device=meter).order_by("id").values_list("kind", flat=True)) == [
        "offline", "back_online", "offline"]
    assert Alert.objects.open().filter(device=meter).count() == 1


def test_it_ignores_devices_within_their_interval_and_never_heard_from(world, meter):
    make_device("AL-NEW", kind="meter", plant=world.a.plant)  # no data yet: no outage
    go_silent(meter, 2)

    assert device_offline_check() == {"opened": 0, "closed": 0}
    assert not Alert.objects.exists()


def test_the_command_runs_the_same_check(world, meter, capsys):
    go_silent(meter, 10)

    call_command("iot_offline_check")

    assert "opened 1 offline alerts" in capsys.readouterr().out


def test_alerts_are_scoped_like_devices(world, meter):
    go_silent(meter, 10)
    device_offline_check()

    assert Alert.objects.visible_to(world.a.member).count() == 1
    assert Alert.objects.visible_to(world.a.referent).count() == 1
    assert Alert.objects.visible_to(world.b.referent).count() == 0
    assert Alert.objects.visible_to(world.a.other_member).count() == 0


def test_the_alerts_api_lists_and_filters_visible_alerts(as_user, world, meter):
    other, _ = make_device("AL-MTR-B", kind="meter", plant=world.b.plant, expected_interval_s=60)
    go_silent(meter, 10)
    go_silent(other, 10)
    device_offline_check()

    mine = as_user(world.a.member).get("/api/v1/iot/alerts").json()
    open_only = as_user(world.a.referent).get(f"/api/v1/iot/alerts?open=1&device={meter.pk}").json()

    assert mine["total"] == 1 and mine["items"][0]["device_serial"] == "AL-MTR-A"
    assert mine["items"][0]["kind"] == "offline" and mine["items"][0]["is_open"] is True
    assert open_only["total"] == 1
    assert as_user(world.a.referent).get("/api/v1/iot/alerts?kind=back_online").json()["total"] == 0
    assert as_user(world.a.member).get("/api/v1/iot/alerts?kind=nope").status_code == 400


def test_the_alerts_api_hides_other_communities(as_user, api, world, meter):
    go_silent(meter, 10)
    device_offline_check()

    assert as_user(world.b.referent).get("/api/v1/iot/alerts").json()["total"] == 0
    assert as_user(world.a.other_member).get("/api/v1/iot/alerts").json()["total"] == 0
    assert as_user(world.b.member).get(f"/api/v1/iot/alerts?device={meter.pk}").json()["total"] == 0
    assert api.get("/api/v1/iot/alerts").status_code == 401


def test_each_recipient_reads_the_alert_in_their_language(
        world, meter, django_capture_on_commit_callbacks):
    """The owner chose Italian, the referent did not: one alert, two languages (issue 11)."""
    owner = world.a.member
    owner.preferences = {**(owner.preferences or {}), "language": "it"}
    owner.save(update_fields=["preferences"])
    go_silent(meter, 10)
    with django_capture_on_commit_callbacks(execute=True):
        device_offline_check()
    italian = Notification.objects.get(kind="device_offline", user=owner)
    english = Notification.objects.get(kind="device_offline", user=world.a.referent)
    assert italian.title.endswith(": non in linea") and "non invia dati dal" in italian.body
    assert "Comunità:" in italian.body
    assert english.title.endswith(": offline") and "has sent no data since" in english.body
