"""The outbox: a real Celery worker sends each delivery once; a second run of the task sends
nothing; a worker that died after sending leaves the row `unknown` (never resent: at most
once); a refusing server is retried with backoff, then failed; quiet hours defer, never drop."""

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from core.testing import free_port
from notifications.models import Delivery, UserSettings
from notifications.preferences import quiet_hours_end
from notifications.services import notify
from notifications.tasks import deliveries_sweep_task, delivery_send_task

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(predicate, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.fixture
def worker(settings):
    """A real worker (thread, Redis broker) consuming the default queue on the test DB."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    with app.connection_for_write() as conn:
        conn.default_channel.queue_declare(queue=queue, durable=True, auto_delete=False)
        conn.default_channel.queue_purge(queue)
    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING", queues=[queue],
                      hostname=f"notify-{queue}@test"):
        yield app


def test_a_real_worker_sends_once_even_when_the_task_runs_twice(world, mailoutbox, worker, settings):
    note = notify(user=world.a.member, kind="wallet_movement", title="Top-up credited",
                  body="EUR 20.00 added.", url="/wallet/")
    delivery = Delivery.objects.get(notification=note)
    wait_for(lambda: Delivery.objects.get(pk=delivery.pk).status == "sent")
    delivery_send_task.delay(delivery.pk)  # a duplicate message (redelivery, a second sweep)
    assert delivery_send_task.apply((delivery.pk,)).get() is False
    time.sleep(0.5)
    (message,) = mailoutbox
    assert message.to == [world.a.member.email] and message.subject == "[CommonWatt] Top-up credited"
    assert message.body == f"EUR 20.00 added.\n\n{settings.SITE_URL}/wallet/"
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.sent_at is not None


def test_a_worker_that_died_after_sending_is_never_sent_again(world, mailoutbox, settings):
    note = notify(user=world.a.member, kind="wallet_movement", title="Top-up credited", body="")
    delivery = Delivery.objects.get(notification=note)
    # the state a worker leaves when it dies between the provider's answer and the mark
    stuck_since = timezone.now() - timedelta(seconds=settings.NOTIFICATIONS_STUCK_AFTER_S + 1)
    Delivery.objects.filter(pk=delivery.pk).update(status="sending", attempts=1, claimed_at=stuck_since)
    mail.outbox.clear()

    assert deliveries_sweep_task.apply().get() == {"sent": 0, "due": 0, "unknown": 1}
    assert delivery_send_task.apply((delivery.pk,)).get() is False
    delivery.refresh_from_db()
    assert delivery.status == "unknown" and "not sent again" in delivery.last_error
    assert mailoutbox == []


def test_a_refusing_server_is_retried_with_backoff_then_failed(world, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens there
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 2
    note = notify(user=world.a.member, kind="wallet_movement", title="Top-up credited", body="")
    delivery = Delivery.objects.get(notification=note)
    Delivery.objects.filter(pk=delivery.pk).update(status="pending", attempts=0, not_before=timezone.now())

    before = timezone.now()
    assert delivery_send_task.apply((delivery.pk,)).get() is False
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 1 and "Refused" in delivery.last_error
    base = settings.NOTIFICATIONS_RETRY_BASE_S
    assert before + timedelta(seconds=base - 1) <= delivery.not_before
    assert delivery.not_before <= timezone.now() + timedelta(seconds=base)
    # not due yet: the sweep leaves it
    assert deliveries_sweep_task.apply().get()["due"] == 0

    Delivery.objects.filter(pk=delivery.pk).update(not_before=timezone.now() - timedelta(minutes=5))
    assert deliveries_sweep_task.apply().get() == {"sent": 0, "due": 1, "unknown": 0}
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.attempts == 2


def _quiet_around_now(user, tz="Europe/Rome"):
    local = timezone.now().astimezone(ZoneInfo(tz))
    end = (local + timedelta(hours=1)).time().replace(second=0, microsecond=0)
    UserSettings.objects.create(user=user, time_zone=tz, quiet_start=(local - timedelta(hours=1)).time(),
                                quiet_end=end)


def test_quiet_hours_defer_to_their_end_and_never_drop(world, mailoutbox):
    _quiet_around_now(world.a.member)
    note = notify(user=world.a.member, kind="wallet_movement", title="Top-up credited", body="")
    delivery = Delivery.objects.get(notification=note)
    ends = quiet_hours_end(user=world.a.member, at=timezone.now())
    assert ends is not None and delivery.not_before == ends
    assert timedelta(minutes=58) < delivery.not_before - timezone.now() <= timedelta(hours=1)

    assert delivery_send_task.apply((delivery.pk,)).get() is False  # too early: nothing leaves
    assert deliveries_sweep_task.apply().get()["due"] == 0
    assert mailoutbox == []

    # the quiet hours are over (an hour passed: the clock moved past not_before); the sweep sends it
    now = timezone.now()
    Delivery.objects.filter(pk=delivery.pk).update(created_at=now - timedelta(hours=1),
                                                   not_before=now - timedelta(seconds=1))
    assert deliveries_sweep_task.apply().get()["sent"] == 1
    assert len(mailoutbox) == 1


def test_an_urgent_notification_ignores_quiet_hours(world):
    _quiet_around_now(world.a.member)
    before = timezone.now()
    note = notify(user=world.a.member, kind="system", title="Act now", body="", urgent=True)
    assert Delivery.objects.get(notification=note).not_before <= before + timedelta(seconds=5)


@pytest.mark.parametrize("local, expected", [
    ("2026-03-28 23:30", "2026-03-29 07:00"),   # wraps midnight; the DST change happens that night
    ("2026-03-29 06:59", "2026-03-29 07:00"),
    ("2026-03-29 07:00", None),
    ("2026-03-29 12:00", None),
    ("2026-03-29 22:00", "2026-03-30 07:00"),
])
def test_the_quiet_window_is_local_time_across_midnight(world, local, expected):
    rome = ZoneInfo("Europe/Rome")
    UserSettings.objects.create(user=world.a.member, time_zone="Europe/Rome",
                                quiet_start=datetime.strptime("22:00", "%H:%M").time(),
                                quiet_end=datetime.strptime("07:00", "%H:%M").time())
    at = datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=rome)
    ends = quiet_hours_end(user=world.a.member, at=at)
    if expected is None:
        assert ends is None
    else:
        assert ends == datetime.strptime(expected, "%Y-%m-%d %H:%M").replace(tzinfo=rome)


def test_the_sweep_is_scheduled_by_beat():
    from django_celery_beat.models import PeriodicTask

    from config.beat import beat_sync

    PeriodicTask.objects.filter(task="notifications.tasks.deliveries_sweep_task").delete()
    beat_sync()
    assert PeriodicTask.objects.get(task="notifications.tasks.deliveries_sweep_task").interval.every == 1


def test_a_due_delivery_the_queue_lost_is_sent_by_the_sweep(world, mailoutbox):
    note = notify(user=world.a.member, kind="wallet_movement", title="Top-up credited", body="")
    delivery = Delivery.objects.get(notification=note)
    mail.outbox.clear()
    assert deliveries_sweep_task.apply().get()["due"] == 0  # just created: the task's for a minute
    # nobody consumed the queued task (broker lost it): past the sweep's grace it is sent
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Delivery.objects.filter(pk=delivery.pk).update(created_at=an_hour_ago, not_before=an_hour_ago)
    assert deliveries_sweep_task.apply().get() == {"sent": 1, "due": 1, "unknown": 0}
    assert deliveries_sweep_task.apply().get() == {"sent": 0, "due": 0, "unknown": 0}
    assert len(mailoutbox) == 1


def test_the_command_runs_the_same_sweep(world, mailoutbox, capsys):
    from django.core.management import call_command

    note = notify(user=world.a.member, kind="wallet_movement", title="Top-up credited", body="")
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Delivery.objects.filter(notification=note).update(created_at=an_hour_ago, not_before=an_hour_ago)
    call_command("notifications_sweep")
    assert '"sent": 1' in capsys.readouterr().out
    assert len(mailoutbox) == 1
