"""The one write path: validation, idempotency, dead letters, last_seen, live fan-out."""

import math
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from iot.ingest.partitions import partition_name, partitions_ensure
from iot.ingest.service import ingest
from iot.models import DeadLetter, Device
from iot.testing.live import GroupListener
from iot.testing.registry import make_device, stored_readings

pytestmark = pytest.mark.django_db


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


@pytest.fixture
def meter(world):
    device, _secret = make_device("MTR-A1", kind="meter", plant=world.a.plant)
    return device


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


def test_it_stores_valid_readings(meter, now):
    result = ingest([
        {"device": "MTR-A1", "metric": "power_w", "ts": iso(now), "value": 1500},
        {"device": "MTR-A1", "metric": "energy_import_kwh", "ts": now.timestamp(), "value": 12.5},
        {"device": "MTR-A1", "metric": "voltage_v", "ts": now - timedelta(minutes=1), "value": 231.2},
    ], source="http")

    assert (result.accepted, result.duplicate, result.rejected) == (3, 0, 0)
    assert stored_readings(meter) == [
        ("MTR-A1", "energy_import_kwh", now, 12.5),
        ("MTR-A1", "power_w", now, 1500.0),
        ("MTR-A1", "voltage_v", now - timedelta(minutes=1), 231.2),
    ]


def test_it_accepts_epoch_milliseconds_and_offsets(meter, now):
    result = ingest([
        {"device": "MTR-A1", "metric": "power_w", "ts": int(now.timestamp() * 1000), "value": 1},
        {"device": "MTR-A1", "metric": "soc_pct", "ts": now.astimezone().isoformat(), "value": 50},
    ], source="http")

    assert result.accepted == 2
    assert [r[2] for r in stored_readings(meter)] == [now, now]


def test_it_is_idempotent(meter, now):
    batch = [{"device": "MTR-A1", "metric": "power_w", "ts": iso(now - timedelta(seconds=i)), "value": i}
             for i in range(100)]
    first = ingest(batch, source="mqtt")
    again = ingest(batch, source="mqtt")

    assert (first.accepted, first.duplicate) == (100, 0)
    assert (again.accepted, again.duplicate, again.rejected) == (0, 100, 0)
    assert len(stored_readings(meter)) == 100


def test_it_counts_a_key_repeated_in_one_batch_once(meter, now):
    reading = {"device": "MTR-A1", "metric": "power_w", "ts": iso(now), "value": 10}
    result = ingest([reading, dict(reading), {**reading, "value": 11}], source="http")

    assert (result.accepted, result.duplicate) == (1, 2)
    assert stored_readings(meter) == [("MTR-A1", "power_w", now, 11.0)]


def test_it_applies_a_correction_and_reports_it(meter, now):
    ingest([{"device": "MTR-A1", "metric": "power_w", "ts": iso(now), "value": 10}], source="http")
    result = ingest([{"device": "MTR-A1", "metric": "power_w", "ts": iso(now), "value": 12}], source="http")

    assert (result.accepted, result.corrected, result.duplicate) == (1, 1, 0)
    assert stored_readings(meter) == [("MTR-A1", "power_w", now, 12.0)]


@pytest.mark.parametrize(("item", "reason"), [
    ({"device": "NOPE", "metric": "power_w", "value": 1}, "unknown device 'NOPE'"),
    ({"metric": "power_w", "value": 1}, "device missing"),
    ({"device": "MTR-A1", "metric": "wattage", "value": 1}, "unknown metric 'wattage'"),
    ({"device": "MTR-A1", "metric": "power_w", "value": math.nan}, "value is not a finite number"),
    ({"device": "MTR-A1", "metric": "power_w", "value": "12"}, "value is not a number"),
    ({"device": "MTR-A1", "metric": "power_w", "value": True}, "value is not a number"),
    ({"device": "MTR-A1", "metric": "power_w"}, "value missing"),
    ({"device": "MTR-A1", "metric": "soc_pct", "value": 140},
     "outside the plausible range [0, 100] of soc_pct"),
    ({"device": "MTR-A1", "metric": "power_w", "value": 1, "ts": "yesterday"}, "is not ISO-8601"),
    ({"device": "MTR-A1", "metric": "power_w", "value": 1, "ts": "2026-01-01T00:00:00"}, "no time zone"),
    ({"device": "MTR-A1", "metric": "power_w", "value": 1, "ts": "2001-01-01T00:00:00Z"}, "older than"),
    ({"device": "MTR-A1", "metric": "power_w", "value": 1, "ts": "2999-01-01T00:00:00Z"}, "in the future"),
    ({"device": "MTR-A1", "metric": "power_w", "value": 1, "ts": None}, "timestamp missing"),
])
def test_it_dead_letters_bad_items_with_their_reason(meter, now, item, reason):
    item = {"ts": iso(now), **item}
    good = {"device": "MTR-A1", "metric": "power_w", "ts": iso(now - timedelta(minutes=5)), "value": 5}

    result = ingest([good, item], source="http")

    assert (result.accepted, result.rejected) == (1, 1)
    assert result.errors[0]["index"] == 1 and reason in result.errors[0]["reason"]
    letter = DeadLetter.objects.get()
    assert reason in letter.reason and letter.source == "http"
    assert '"metric"' in letter.raw
    assert len(stored_readings()) == 1


def test_it_dead_letters_something_that_is_not_an_object(meter):
    result = ingest([42, "x"], source="mqtt", device=meter, context={"topic": "devices/MTR-A1/telemetry"})

    assert result.rejected == 2
    letters = DeadLetter.objects.order_by("id")
    assert [(x.raw, x.reason, x.device_id, x.topic) for x in letters] == [
        ("42", "reading is not an object", meter.pk, "devices/MTR-A1/telemetry"),
        ('"x"', "reading is not an object", meter.pk, "devices/MTR-A1/telemetry"),
    ]


def test_it_refuses_readings_of_another_device_from_an_authenticated_sender(meter, world, now):
    make_device("MTR-B1", plant=world.b.plant)

    result = ingest([{"device": "MTR-B1", "metric": "power_w", "ts": iso(now), "value": 1},
                     {"metric": "power_w", "ts": iso(now), "value": 2}], source="http", device=meter)

    assert (result.accepted, result.rejected) == (1, 1)
    assert "does not match the sending device" in result.errors[0]["reason"]
    assert stored_readings() == [("MTR-A1", "power_w", now, 2.0)]


def test_it_refuses_an_inactive_device(meter, now):
    Device.objects.filter(pk=meter.pk).update(is_active=False)
    result = ingest([{"device": "MTR-A1", "metric": "power_w", "ts": iso(now), "value": 1}], source="http")
    assert result.rejected == 1 and "inactive" in result.errors[0]["reason"]


def test_it_updates_last_seen_and_the_status(meter, now):
    assert meter.status == "offline"
    ingest([{"device": "MTR-A1", "metric": "power_w", "ts": iso(now), "value": 1}], source="http")
    meter.refresh_from_db()
    assert meter.last_seen is not None and meter.status == "online" and meter.is_online()

    ingest([{"device": "MTR-A1", "metric": "soc_pct", "ts": iso(now), "value": 1000}], source="http")
    meter.refresh_from_db()
    assert meter.status == "error" and "plausible range" in meter.last_error

    Device.objects.filter(pk=meter.pk).update(last_seen=now - timedelta(hours=1), last_error_at=None)
    meter.refresh_from_db()
    assert meter.status == "offline"


def test_it_publishes_one_message_per_device_after_commit(
        meter, world, now, django_capture_on_commit_callbacks):
    groups = [f"telemetry.device.{meter.pk}", f"telemetry.plant.{world.a.plant.pk}",
              f"telemetry.community.{world.a.community.pk}", f"telemetry.community.{world.b.community.pk}"]
    with GroupListener(groups) as listener:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            earlier = iso(now - timedelta(seconds=5))
            ingest([{"device": "MTR-A1", "metric": "power_w", "ts": iso(now), "value": 7},
                    {"device": "MTR-A1", "metric": "power_w", "ts": earlier, "value": 6}], source="http")
            assert listener.messages == []  # nothing before the commit
        assert len(callbacks) == 1
        messages = listener.wait(3)
        listener.wait(4, timeout=0.5)

    assert len(listener.messages) == 3  # device, plant and community A; nothing for B
    for message in messages:
        assert message["type"] == "telemetry.readings"
        assert (message["device"], message["plant"], message["community"]) == (
            meter.pk, world.a.plant.pk, world.a.community.pk)
        assert message["readings"] == [
            {"metric": "power_w", "ts": (now - timedelta(seconds=5)).isoformat(), "value": 6.0},
            {"metric": "power_w", "ts": now.isoformat(), "value": 7.0},
        ]


def test_it_publishes_nothing_for_duplicates(meter, now, django_capture_on_commit_callbacks):
    reading = {"device": "MTR-A1", "metric": "power_w", "ts": iso(now), "value": 7}
    ingest([reading], source="http")
    with django_capture_on_commit_callbacks() as callbacks:
        ingest([reading], source="http")
    assert callbacks == []


def _partition_of(device, ts) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM iot_reading WHERE device_id = %s AND ts = %s",
                       [device.pk, ts])
        return cursor.fetchone()[0]


def test_it_keeps_readings_outside_every_partition_and_moves_them_later(meter):
    old = (timezone.now() - timedelta(days=1000)).replace(day=10, hour=12, minute=0, second=0, microsecond=0)
    result = ingest([{"device": "MTR-A1", "metric": "power_w", "ts": old, "value": 3}], source="import")
    assert result.accepted == 1
    assert _partition_of(meter, old) == "iot_reading_default"

    call_command("iot_partitions", "--back", "60", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert _partition_of(meter, old) == partition_name(old.date().replace(day=1))
    assert stored_readings(meter) == [("MTR-A1", "power_w", old, 3.0)]


def test_it_creates_partitions_ahead_idempotently(db):
    today = timezone.now().date()
    first = partitions_ensure(months_ahead=2)
    again = partitions_ensure(months_ahead=2)

    assert again.created == []
    names = set(first.created) | set(first.existing)
    assert partition_name(today.replace(day=1)) in names
    assert len(names) == 3


def test_the_current_month_has_its_partition_after_migrate(meter, now):
    ingest([{"device": "MTR-A1", "metric": "power_w", "ts": now, "value": 1}], source="http")
    assert _partition_of(meter, now) == partition_name(now.date().replace(day=1))


def test_the_partition_beat_task_is_registered_and_runs(db):
    from django_celery_beat.models import PeriodicTask

    from iot.tasks import beat_tasks_ensure, partitions_ensure_task

    beat_tasks_ensure()  # idempotent: migration 0004 and post_migrate already did it
    task = PeriodicTask.objects.get(task="iot.tasks.partitions_ensure_task")
    assert task.enabled and task.interval.every == 1 and task.interval.period == "days"
    assert partitions_ensure_task.apply().get() == {"created": [], "moved_rows": 0}  # migrate made them


@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_during_the_copy_raises_djangos_operational_error(meter, now):
    """The COPY runs on psycopg's own cursor: a connection lost there must still surface as
    Django's OperationalError, the error every caller (the MQTT bridge's retry, the HTTP 503)
    treats as "the database is away, try again", not as a bad payload."""
    import psycopg
    from django.db import OperationalError

    from iot.ingest.service import _write
    from iot.models import Metric

    metric = Metric.objects.get(code="power_w")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    db = connection.settings_dict
    with psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
                         password=db["PASSWORD"], dbname=db["NAME"], autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    with pytest.raises(OperationalError):
        _write({(meter.id, metric.id, now): 1.0})
    connection.close()
    assert ingest([{"device": "MTR-A1", "metric": "power_w", "ts": iso(now), "value": 1}],
                  source="http").accepted == 1
