"""Plant performance in /plants/{id}, from the telemetry of the plant's devices (iot app)."""

from datetime import UTC, datetime, timedelta

import pytest

from iot.ingest.service import ingest
from iot.rollups.service import rollup_run
from iot.testing.registry import make_device

T0 = datetime(2026, 6, 1, tzinfo=UTC)


def five_minutely(serial, metric, count, value):
    return [
        {"device": serial, "metric": metric, "ts": T0 + timedelta(minutes=5 * i), "value": value(i)}
        for i in range(count)
    ]


@pytest.fixture
def telemetry(world):
    inverter, _ = make_device("PERF-INV-A", kind="inverter", plant=world.a.plant, expected_interval_s=300)
    # 2 hours: the register grows 0.4 kWh per 5 minutes; irradiance 800 W/m2 on the modules.
    ingest(
        five_minutely(inverter.serial, "energy_produced_kwh", 25, lambda i: 1000 + 0.4 * i)
        + five_minutely(inverter.serial, "irradiance_wm2", 24, lambda i: 800.0),
        source="import",
    )
    rollup_run()
    return inverter


def test_it_reports_energy_yield_and_performance_ratio(world, as_user, telemetry):
    body = (
        as_user(world.a.member)
        .get(f"/api/v1/plants/{world.a.plant.pk}", {"start": "2026-06-01", "end": "2026-06-02"})
        .json()
    )
    perf = body["performance"]
    assert perf["energy_kwh"] == pytest.approx(24 * 0.4)
    assert perf["specific_yield_kwh_per_kwp"] == pytest.approx(9.6 / 6, abs=1e-3)
    assert perf["irradiation_kwh_per_m2"] == pytest.approx(1.6)
    # Yf / Yr = (9.6 kWh / 6 kWp) / (1.6 kWh/m2 / 1 kW/m2) = 1.0
    assert perf["performance_ratio"] == pytest.approx(1.0, abs=1e-3)
    assert perf["devices"] == 1
    assert body["period"] == {"start": "2026-06-01", "end": "2026-06-02"}


def test_it_answers_null_outside_the_telemetry(world, as_user, telemetry):
    body = (
        as_user(world.a.member)
        .get(f"/api/v1/plants/{world.a.plant.pk}", {"start": "2026-07-01", "end": "2026-07-02"})
        .json()
    )
    assert body["performance"] is None
    other = (
        as_user(world.b.member)
        .get(f"/api/v1/plants/{world.b.plant.pk}", {"start": "2026-06-01", "end": "2026-06-02"})
        .json()
    )
    assert other["performance"] is None


def test_the_period_is_the_communitys_local_days(world, as_user, telemetry):
    # Europe/Rome: 31 May local ends at 2026-05-31T22:00Z, before any reading.
    body = (
        as_user(world.a.member)
        .get(f"/api/v1/plants/{world.a.plant.pk}", {"start": "2026-05-31", "end": "2026-06-01"})
        .json()
    )
    assert body["performance"] is None
