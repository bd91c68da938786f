"""Alert notifications are an outbox: a failing email neither skips the other alerts'
notifications nor is lost; the beat sweep sends it again, once."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from accounts.models import User
from config.beat import beat_sync
from iot.alerts import device_offline_check
from iot.models import Alert, Device
from iot.rollups.tasks import alerts_notify_pending_task
from iot.testing.registry import make_device
from notifications.models import Delivery, Notification

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def eager_tasks():
    """Celery tasks run inline: the notification outbox's email lands in `mailoutbox`."""
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def test_a_failing_email_skips_no_other_and_the_sweep_never_tells_anyone_twice(
        world, mailoutbox, eager_tasks):
    make_device("OB-A", kind="meter", plant=world.a.plant, expected_interval_s=60)
    make_device("OB-B", kind="meter", plant=world.b.plant, expected_interval_s=60)
    Device.objects.update(last_seen=timezone.now() - timedelta(minutes=10))
    good_email = world.a.referent.email
    # a real failure: this address cannot go into a header (BadHeaderError at send time)
    User.objects.filter(pk=world.a.referent.pk).update(email=good_email + "\nBcc: eve@example.org")

    assert device_offline_check() == {"opened": 2, "closed": 0}  # committed: the notifications ran

    assert Alert.objects.filter(notified_at__isnull=True).count() == 0
    # the referent's email failed for good (their in-app notification is there); nobody else's
    bad, = Delivery.objects.filter(notification__user=world.a.referent)
    assert bad.status == "failed" and bad.last_error
    assert Notification.objects.filter(user=world.a.referent, kind="device_offline").count() == 1
    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        [world.a.member.email, world.b.referent.email, world.b.member.email])

    # an alert whose notification must run again (e.g. it failed half-way): the dedup key
    # keeps everyone from being told twice
    Alert.objects.update(notified_at=None)
    assert alerts_notify_pending_task.apply().get() == {"sent": 2, "failed": 0}
    assert alerts_notify_pending_task.apply().get() == {"sent": 0, "failed": 0}
    assert Notification.objects.filter(kind="device_offline").count() == 4
    assert len(mailoutbox) == 3


def test_the_sweep_is_scheduled_by_beat():
    PeriodicTask.objects.filter(task="iot.rollups.tasks.alerts_notify_pending_task").delete()
    beat_sync()
    assert PeriodicTask.objects.get(task="iot.rollups.tasks.alerts_notify_pending_task").interval.every == 5


def test_a_device_name_with_a_line_break_still_gets_its_alert_sent(world, mailoutbox, eager_tasks):
    """User text in a subject is made single-line (core.mail.header_safe): a device named
    with a line break can neither inject a header nor make its alert fail."""
    meter, _ = make_device("OB-NL", kind="meter", plant=world.a.plant, expected_interval_s=60)
    Device.objects.filter(pk=meter.pk).update(name="Meter\r\nBcc: eve@example.org",
                                              last_seen=timezone.now() - timedelta(minutes=10))
    assert device_offline_check() == {"opened": 1, "closed": 0}
    assert Alert.objects.get(device=meter).notified_at is not None
    assert len(mailoutbox) == 2  # the referent and the owner
    for message in mailoutbox:
        assert "\n" not in message.subject and "Bcc" not in message.extra_headers
        assert message.bcc == []
