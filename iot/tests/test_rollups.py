"""Rollups equal a recomputation from raw data, at every level, also after late data.

The oracle below recomputes each bucket in Python from the stored readings; counter
differences come from the ingest side's `interval_energy` (each interval's energy counted in
the bucket where the interval ends), so the SQL is checked against an independent rule.
"""

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iot.ingest.energy import interval_energy
from iot.ingest.service import ingest
from iot.rollups.service import rollup_run, rollup_status
from iot.testing.registry import make_device

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 27, 21, 0, tzinfo=UTC)  # spans the DST change of 2026-03-29 in Rome
LEVELS = ("15m", "1h", "1d", "1mo")
_serials = itertools.count(1)


def bucket_of(level: str, ts: datetime, tz: str) -> datetime:
    if level == "15m":
        return ts.replace(minute=ts.minute - ts.minute % 15, second=0, microsecond=0)
    if level == "1h":
        return ts.replace(minute=0, second=0, microsecond=0)
    local = ts.astimezone(ZoneInfo(tz))
    day = 1 if level == "1mo" else local.day
    return datetime(local.year, local.month, day, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def stored(device) -> dict[str, list[tuple[datetime, float]]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT m.code, m.is_cumulative, r.ts, r.value FROM iot_reading r"
                       " JOIN iot_metric m ON m.id = r.metric_id WHERE r.device_id = %s ORDER BY r.ts",
                       [device.pk])
        out: dict = {}
        for code, cumulative, ts, value in cursor.fetchall():
            out.setdefault((code, cumulative), []).append((ts, value))
    return out


def recompute(device, level: str, tz: str) -> dict:
    expected = {}
    for (code, cumulative), series in stored(device).items():
        groups: dict = {}
        for ts, value in series:
            groups.setdefault(bucket_of(level, ts, tz), []).append((ts, value))
        diffs: dict = {}
        for row in interval_energy(series, timedelta(seconds=device.expected_interval_s)):
            d = diffs.setdefault(bucket_of(level, row.end, tz), [0.0, 0, 0])
            d[0] += row.energy_kwh
            d[1] += row.reset
            d[2] += row.gap
        for bucket, points in groups.items():
            values = [v for _, v in points]
            delta, resets, gaps = diffs.get(bucket, [0.0, 0, 0])
            expected[(code, bucket)] = (
                len(values), min(values), max(values), pytest.approx(sum(values)), values[0], values[-1],
                pytest.approx(delta) if cumulative else None, resets if cumulative else 0, gaps,
            )
    return expected


def rolled(device, level: str) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT m.code, x.bucket, x.n, x.min_value, x.max_value, x.sum_value, x.first_value,"
            f" x.last_value, x.delta, x.resets, x.gaps FROM iot_rollup_{level} x"
            f" JOIN iot_metric m ON m.id = x.metric_id WHERE x.device_id = %s", [device.pk])
        return {(code, bucket): tuple(rest) for code, bucket, *rest in cursor.fetchall()}


def assert_rollups_match(device, tz="Europe/Rome"):
    for level in LEVELS:
        assert rolled(device, level) == recompute(device, level, tz), level


def readings(serial, start, count, step_s=300, *, counter_start=100.0, resets_at=()):
    items, counter = [], counter_start
    for i in range(count):
        ts = start + timedelta(seconds=i * step_s)
        counter = 0.25 if i in resets_at else counter + 0.1 + (i % 7) * 0.01
        items.append({"device": serial, "metric": "energy_import_kwh", "ts": ts, "value": counter})
        items.append({"device": serial, "metric": "power_w", "ts": ts, "value": 500.0 + (i * 37) % 900})
    return items


@pytest.fixture
def meter(world):
    device, _ = make_device("RLP-MTR-1", kind="meter", plant=world.a.plant, expected_interval_s=300)
    return device


def test_it_rolls_readings_up_into_every_level(meter):
    ingest(readings(meter.serial, T0, 12 * 24 * 3, resets_at={400}), source="import")

    result = rollup_run()

    assert result.queued >= 1 and not result.skipped
    assert_rollups_match(meter)
    # the DST day in Rome is 23 hours long: 23 * 12 readings of each metric
    day = datetime(2026, 3, 29, tzinfo=ZoneInfo("Europe/Rome"))
    assert rolled(meter, "1d")[("power_w", day)][0] == 23 * 12


def test_it_rerolls_the_buckets_late_data_touches(meter):
    items = readings(meter.serial, T0, 12 * 24 * 2)
    on_time = [i for n, i in enumerate(items) if (n // 2) % 10 != 3]  # every 10th reading arrives late
    ingest(on_time, source="mqtt")
    rollup_run()
    assert_rollups_match(meter)

    late = [i for n, i in enumerate(items) if (n // 2) % 10 == 3]
    ingest(late, source="mqtt")
    result = rollup_run()

    assert result.queued >= 1
    assert_rollups_match(meter)


def test_it_follows_corrections_and_deleted_readings(meter):
    ingest(readings(meter.serial, T0, 48), source="http")
    rollup_run()
    fixed = {"device": meter.serial, "metric": "power_w", "ts": T0 + timedelta(minutes=20), "value": 4321.0}
    assert ingest([fixed], source="http").corrected == 1
    with connection.cursor() as cursor:  # an operator removes a bad hour
        cursor.execute("DELETE FROM iot_reading WHERE device_id = %s AND ts >= %s AND ts < %s",
                       [meter.pk, T0 + timedelta(hours=2), T0 + timedelta(hours=3)])

    rollup_run()

    assert_rollups_match(meter)
    assert not any(b == T0 + timedelta(hours=2) for _, b in rolled(meter, "1h"))
    assert rolled(meter, "15m")[("power_w", T0 + timedelta(minutes=15))][2] == 4321.0


def test_ranges_rolled_in_one_run_do_not_see_each_others_rows(meter):
    """Found by the property test: the reading just before a second range (needed for its
    first difference) lies in the first range's bucket and must not be counted there."""
    ingest([item for i, v in ((0, 100.0), (1, 0.0)) for item in [
        {"device": meter.serial, "metric": "power_w", "ts": T0 + timedelta(minutes=5 * i), "value": v}]],
        source="http")
    rollup_run()
    ingest([{"device": meter.serial, "metric": "power_w", "ts": T0, "value": 0.0},  # a correction
            {"device": meter.serial, "metric": "power_w", "ts": T0 + timedelta(minutes=30), "value": 0.0}],
           source="http")

    rollup_run()

    assert rolled(meter, "15m")[("power_w", T0)][0] == 2
    assert_rollups_match(meter)


def test_it_counts_counter_resets_and_flags_gaps(meter):
    start = T0
    values = [(0, 10.0), (5, 10.5), (10, 11.0), (15, 0.5), (20, 1.0), (60, 3.0)]  # reset, then a gap
    ingest([{"device": meter.serial, "metric": "energy_import_kwh", "ts": start + timedelta(minutes=m),
             "value": v} for m, v in values], source="http")

    rollup_run()

    hour = rolled(meter, "1h")[("energy_import_kwh", start)]
    assert hour[6] == pytest.approx(0.5 + 0.5 + 0.5 + 0.5)  # 10->10.5->11, reset to 0.5, ->1.0
    assert hour[7:] == (1, 0)
    later = rolled(meter, "1h")[("energy_import_kwh", start + timedelta(hours=1))]
    assert later[6] == pytest.approx(2.0) and later[8] == 1  # the gap is flagged, not spread
    assert_rollups_match(meter)


def test_a_register_read_at_another_precision_is_not_a_counter_reset(meter):
    # seen in the demo: the history stored 1817.98605 kWh, the live simulator (rounding to Wh)
    # then sent 1817.986; counted as a reset it booked the meter's 1,818 kWh in 15 minutes
    start = T0
    values = [(0, 1817.98605), (15, 1817.986), (30, 1818.236), (45, 40.0)]  # then a real reset
    ingest([{"device": meter.serial, "metric": "energy_export_kwh", "ts": start + timedelta(minutes=m),
             "value": v} for m, v in values], source="http")

    rollup_run()

    q = rolled(meter, "15m")
    assert q[("energy_export_kwh", start + timedelta(minutes=15))][6:8] == (0, 0)
    assert q[("energy_export_kwh", start + timedelta(minutes=30))][6] == pytest.approx(0.25)
    assert q[("energy_export_kwh", start + timedelta(minutes=45))][6:8] == (40.0, 1)
    assert rolled(meter, "1h")[("energy_export_kwh", start)][6] == pytest.approx(40.25)
    assert_rollups_match(meter)


def test_it_uses_utc_days_for_a_device_without_community(world):
    device, _ = make_device("RLP-WX-1", kind="weather", community=None, expected_interval_s=300)
    ingest([{"device": device.serial, "metric": "ambient_temp_c", "ts": T0 + timedelta(hours=h), "value": h}
            for h in range(6)], source="http")

    rollup_run()

    assert {b for _, b in rolled(device, "1d")} == {datetime(2026, 3, 27, tzinfo=UTC),
                                                      datetime(2026, 3, 28, tzinfo=UTC)}
    assert_rollups_match(device, tz="UTC")


def test_the_command_rebuilds_a_range_and_reports_the_watermark(meter, capsys):
    ingest(readings(meter.serial, T0, 24), source="http")
    rollup_run()
    with connection.cursor() as cursor:  # rollups lost (e.g. restored from an older backup)
        for level in LEVELS:
            cursor.execute(f"DELETE FROM iot_rollup_{level} WHERE device_id = %s", [meter.pk])

    call_command("iot_rollup", "--rebuild", "--start", "2026-03-27", "--end", "2026-03-29",
                 "--device", str(meter.pk))

    assert_rollups_match(meter)
    call_command("iot_rollup", "--status")
    out = capsys.readouterr().out
    assert "queued 2 (device, metric) ranges" in out
    assert f"watermark_id: {rollup_status()['watermark_id']}" in out
    assert "backlog: 0" in out


batches = st.lists(
    st.tuples(
        st.lists(st.tuples(st.integers(0, 3 * 24 * 12), st.floats(0, 5), st.booleans(), st.booleans()),
                 min_size=1, max_size=25),
        st.lists(st.integers(0, 24), max_size=3),  # items of the batch an operator deletes afterwards
    ),
    min_size=1, max_size=4,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=batches)
def test_rollups_equal_recomputation_for_any_arrival_order(world, batches):
    n = next(_serials)
    rome, _ = make_device(f"RLP-H-{n}", kind="meter", plant=world.a.plant, expected_interval_s=300)
    utc, _ = make_device(f"RLP-U-{n}", kind="sensor", community=None, expected_interval_s=300)
    for batch, deleted in batches:  # anywhere in the 3 days: late data, corrections, deletions
        items = []
        for slot, value, is_counter, in_rome in batch:
            items.append({"device": (rome if in_rome else utc).serial,
                          "metric": "energy_import_kwh" if is_counter else "power_w",
                          "ts": T0 + timedelta(minutes=5 * slot), "value": value * 100})
        ingest(items, source="import")
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM iot_reading WHERE device_id = ANY(%s) AND ts = ANY(%s)",
                           [[rome.pk, utc.pk], [items[i % len(items)]["ts"] for i in deleted]])
        rollup_run()
        assert_rollups_match(rome)
        assert_rollups_match(utc, tz="UTC")


def test_beat_runs_the_rollup_and_offline_tasks_every_minute(meter):
    import importlib

    from django.apps import apps
    from django_celery_beat.models import PeriodicTask

    from config.celery import app

    # what migration 0005 ran (a transactional test elsewhere may have flushed its rows)
    importlib.import_module("iot.migrations.0005_rollups_alerts").register(apps, None)
    scheduled = {t.task: (t.interval.every, t.interval.period, t.enabled)
                 for t in PeriodicTask.objects.filter(task__startswith="iot.rollups.")
                 if t.task != "iot.rollups.tasks.alerts_notify_pending_task"}  # 5 min: test_alert_outbox
    assert scheduled == {"iot.rollups.tasks.rollup_run_task": (1, "minutes", True),
                         "iot.rollups.tasks.device_offline_check_task": (1, "minutes", True)}
    ingest(readings(meter.serial, T0, 4), source="http")

    outcome = app.tasks["iot.rollups.tasks.rollup_run_task"].apply().get()

    assert outcome["queued"] >= 2 and not outcome["skipped"]  # our two (device, metric) writes
    assert_rollups_match(meter)
    offline = app.tasks["iot.rollups.tasks.device_offline_check_task"].apply().get()
    assert offline == {"opened": 0, "closed": 0}


def test_a_second_runner_steps_aside_while_one_holds_the_lock(meter):
    import psycopg

    from iot.rollups.service import LOCK_KEY

    ingest(readings(meter.serial, T0, 4), source="http")
    db = connection.settings_dict
    with psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
                         password=db["PASSWORD"] or None, dbname=db["NAME"], autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        busy = rollup_run()
        other.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])

    assert busy.skipped and busy.queued == 0
    assert rollup_run().queued >= 2
    assert_rollups_match(meter)


def test_the_command_refuses_a_bad_range():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--start must be before --end"):
        call_command("iot_rollup", "--rebuild", "--start", "2026-03-02", "--end", "2026-03-01")
    with pytest.raises(CommandError, match="Not a date"):
        call_command("iot_rollup", "--rebuild", "--start", "soon", "--end", "2026-03-01")
