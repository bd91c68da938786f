"""`manage.py simulate_devices` -> broker -> bridge -> readings: realistic, continuous telemetry."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from communities.models import MeteringPoint
from iot.demo import devices_ensure
from iot.models import DeadLetter
from iot.testing.mqtt_fixtures import bridge, broker, wait_until  # noqa: F401
from iot.testing.registry import stored_readings
from plants.models import Asset

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

NOON = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)  # local solar noon in Bologna, midsummer


@pytest.fixture
def demo(world, broker):  # noqa: F811
    plant = world.a.plant
    plant.metering_point = MeteringPoint.objects.create(code="IT001E00000001", membership=world.a.membership,
                                                        direction="both")
    plant.inverter_power_kw = Decimal("5")
    plant.save()
    Asset.objects.create(plant=plant, kind="battery", capacity_kwh=Decimal("10"), power_kw=Decimal("5"),
                         round_trip_efficiency=Decimal("0.9"))
    devices, _ = devices_ensure(community=world.a.community, plants=[plant])
    broker.sync_auth()
    return {d.kind: d for d in devices}


def simulate(broker, now, hours="3"):  # noqa: F811
    out = StringIO()
    call_command("simulate_devices", "--once", "--now", now.isoformat(), "--backfill-hours", hours,
                 "--port", str(broker.port), stdout=out)
    return out.getvalue()


def series(device, metric):
    return [(ts, value) for _, code, ts, value in stored_readings(device) if code == metric]


def test_it_publishes_realistic_telemetry_for_every_demo_device(demo, broker, bridge):  # noqa: F811
    assert set(demo) == {"meter", "inverter", "battery", "weather"}
    assert "4 devices, 52 messages published" in simulate(broker, NOON)  # 12 backfill ticks + now

    expected = {"meter": 4, "inverter": 6, "battery": 5, "weather": 4}
    for kind, device in demo.items():
        assert wait_until(lambda d=device, k=kind: len(stored_readings(d)) == 13 * expected[k]), kind
    pv = dict(series(demo["inverter"], "power_w"))[NOON]
    assert 2000 < pv <= 5000  # a sunny June noon: well producing, capped by the 5 kW inverter
    assert dict(series(demo["weather"], "ghi_wm2"))[NOON] > 400
    night = dict(series(demo["inverter"], "power_w"))[NOON - timedelta(hours=3)]
    assert night < pv
    for metric in ("energy_import_kwh", "energy_export_kwh"):
        values = [v for _, v in series(demo["meter"], metric)]
        assert values == sorted(values)  # registers never go down
    soc = [v for _, v in series(demo["battery"], "soc_pct")]
    assert all(10 <= v <= 100 for v in soc) and soc[-1] >= soc[0]  # charging on PV surplus
    assert not DeadLetter.objects.exists()


def test_a_restart_continues_counters_without_rewriting_history(demo, broker, bridge):  # noqa: F811
    simulate(broker, NOON, hours="1")
    meter = demo["meter"]
    assert wait_until(lambda: len(series(meter, "energy_import_kwh")) == 5)
    before = series(meter, "energy_export_kwh")

    simulate(broker, NOON + timedelta(minutes=15), hours="1")  # nothing to backfill: only the new tick

    assert wait_until(lambda: len(series(meter, "energy_export_kwh")) == 6)
    after = series(meter, "energy_export_kwh")
    assert after[:5] == before and after[5][1] >= before[-1][1]
    assert not DeadLetter.objects.exists()


def test_it_refuses_to_run_without_devices(db):
    with pytest.raises(CommandError, match="No active MQTT devices"):
        call_command("simulate_devices", "--once")


def test_a_battery_follows_the_schedule_it_was_sent(demo):
    """`set_schedule` (the forecasts' battery steering): at a sunny noon the battery's own rule
    charges on the surplus; with a schedule saying "discharge 2 kW" it discharges, within its
    limits; outside the schedule it is back on its own rule; a bad schedule is refused."""
    from iot.bridges.mqtt_simulator import Fleet
    from iot.models import Device

    devices = list(Device.objects.filter(community=demo["battery"].community).select_related(
        "plant", "metering_point"))
    serial = demo["battery"].serial

    own = Fleet(devices, seed=7)
    own.tick(NOON - timedelta(minutes=15))
    assert own.tick(NOON)[serial]["power_w"] < 0  # charging on PV surplus

    planned = Fleet(devices, seed=7)
    planned.soc_kwh[serial] = 8.0
    assert planned.schedule_set(serial, {"start": (NOON - timedelta(hours=1)).isoformat(), "step_minutes": 60,
                                         "power_kw": [-2.0, -2.0]}) == 2
    planned.tick(NOON - timedelta(minutes=15))
    assert planned.tick(NOON)[serial]["power_w"] == pytest.approx(2000, rel=0.01)  # discharging as told
    assert planned.tick(NOON + timedelta(hours=1, minutes=15))[serial]["power_w"] < 0  # after it: own rule
    for bad in ({"start": "2026-06-21T10:00", "step_minutes": 60, "power_kw": [1]},  # no offset
                {"start": NOON.isoformat(), "step_minutes": 0, "power_kw": [1]},
                {"start": NOON.isoformat(), "step_minutes": 60, "power_kw": []}):
        with pytest.raises(ValueError):
            planned.schedule_set(serial, bad)
    with pytest.raises(ValueError):
        planned.schedule_set(demo["meter"].serial, {"start": NOON.isoformat(), "step_minutes": 60,
                                                    "power_kw": [1]})
