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

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_failing_notification_skips_no_other_and_is_retried_once(world, mailoutbox):
    meter_a, _ = make_device("OB-A", kind="meter", plant=world.a.plant, expected_interval_s=60)
    meter_b, _ = make_device("OB-B", kind="meter", plant=world.b.plant, expected_interval_s=60)
    Device.objects.update(last_seen=timezone.now() - timedelta(minutes=10))
    good_email = world.a.referent.email
    # a real failure: this address cannot go into a header (BadHeaderError at send time)
    User.objects.filter(pk=world.a.referent.pk).update(email=good_email + "\nBcc: eve@example.org")

    assert device_offline_check() == {"opened": 2, "closed": 0}  # committed: the notifications ran

    failed, = Alert.objects.filter(device=meter_a)
    sent, = Alert.objects.filter(device=meter_b)
    assert failed.notified_at is None and sent.notified_at is not None
    assert [m.to for m in mailoutbox] == [[world.b.referent.email]]

    User.objects.filter(pk=world.a.referent.pk).update(email=good_email)
    assert alerts_notify_pending_task.apply().get() == {"sent": 1, "failed": 0}
    assert alerts_notify_pending_task.apply().get() == {"sent": 0, "failed": 0}

    assert [m.to for m in mailoutbox] == [[world.b.referent.email], [good_email]]
    assert Alert.objects.filter(notified_at__isnull=True).count() == 0


def test_the_sweep_is_scheduled_by_beat():
    PeriodicTask.objects.filter(task="iot.rollups.tasks.alerts_notify_pending_task").delete()
    beat_sync()
    assert PeriodicTask.objects.get(task="iot.rollups.tasks.alerts_notify_pending_task").interval.every == 5


def test_a_device_name_with_a_line_break_still_gets_its_alert_sent(world, mailoutbox):
    """User text in a subject is made single-line (core.mail.header_safe): a device named
    with a line break can neither inject a header nor make its alert fail."""
    meter, _ = make_device("OB-NL", kind="meter", plant=world.a.plant, expected_interval_s=60)
    Device.objects.filter(pk=meter.pk).update(name="Meter\r\nBcc: eve@example.org",
                                              last_seen=timezone.now() - timedelta(minutes=10))
    assert device_offline_check() == {"opened": 1, "closed": 0}
    assert Alert.objects.get(device=meter).notified_at is not None
    message, = mailoutbox
    assert "\n" not in message.subject and "Bcc" not in message.extra_headers
    assert message.bcc == []
