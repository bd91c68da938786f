"""`manage.py iec61850_poll` against a libiec61850 MMS server on loopback (pyiec61850-ng)."""

import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from iot.bridges.base import DeviceConfigError
from iot.bridges.iec61850 import parse_points
from iot.models import DeadLetter, Reading
from iot.testing.devices import polled_device, readings_of
from iot.testing.iec61850 import PREFIX, Iec61850LoopbackServer
from iot.testing.modbus import free_port

POINTS = [
    {"ref": PREFIX + "MMXU1.TotW.mag.f", "fc": "MX", "metric": "power_w",
     "quality_ref": PREFIX + "MMXU1.TotW.q", "time_ref": PREFIX + "MMXU1.TotW.t"},
    {"ref": PREFIX + "MMXU1.Hz.mag.f", "fc": "MX", "metric": "frequency_hz"},
    {"ref": PREFIX + "MMTR1.TotWh.actVal", "fc": "ST", "metric": "energy_export_kwh", "scale": 0.001},
]


def poll(*args):
    call_command("iec61850_poll", *args, "--backoff-base", "0.2", "--timeout", "5")


def connection(server, points=POINTS):
    return {"host": "127.0.0.1", "port": server.port, "points": points}


def test_it_reads_mmxu_measurements_and_an_mmtr_counter(world):
    with Iec61850LoopbackServer() as server:
        server.set_float("MMXU1.TotW.mag.f", 4321.5)
        server.set_float("MMXU1.Hz.mag.f", 49.98)
        server.set_int64("MMTR1.TotWh.actVal", 123_456_789)
        device = polled_device(plant=world.a.plant, protocol="iec61850", kind="meter",
                               connection=connection(server))
        poll("--once", "--device", device.serial)

    assert readings_of(device) == {
        "power_w": [4321.5],
        "frequency_hz": [pytest.approx(49.98, abs=1e-4)],
        "energy_export_kwh": [pytest.approx(123_456.789)],
    }
    # the measurement keeps the server's own timestamp (set just now), to the millisecond
    stamped = Reading.objects.get(device_id=device.pk, metric__code="power_w").ts
    assert abs(stamped - datetime.now(UTC)) < timedelta(seconds=30)
    assert stamped.microsecond % 1000 == 0


def test_new_values_arrive_on_the_next_poll(world):
    with Iec61850LoopbackServer() as server:
        server.set_float("MMXU1.TotW.mag.f", 100.0)
        server.set_float("MMXU1.Hz.mag.f", 50.0)
        device = polled_device(plant=world.a.plant, protocol="iec61850", kind="meter",
                               connection=connection(server, POINTS[:2]))
        poll("--once", "--device", device.serial)
        server.set_float("MMXU1.TotW.mag.f", 200.0)
        poll("--once", "--device", device.serial)

    assert readings_of(device)["power_w"] == [100.0, 200.0]


def test_an_invalid_quality_is_skipped_and_an_implausible_value_dead_lettered(world, caplog):
    with Iec61850LoopbackServer() as server:
        server.set_float("MMXU1.TotW.mag.f", 500.0, quality=0x2)  # validity "invalid"
        server.set_float("MMXU1.Hz.mag.f", 500.0)                 # 500 Hz is not a grid
        server.set_int64("MMTR1.TotWh.actVal", 1000)
        device = polled_device(plant=world.a.plant, protocol="iec61850", kind="meter",
                               connection=connection(server))
        with caplog.at_level(logging.WARNING, logger="iot.bridges"):
            poll("--once", "--device", device.serial)

    assert readings_of(device) == {"energy_export_kwh": [1.0]}
    assert any("quality" in r.getMessage() for r in caplog.records)
    letter = DeadLetter.objects.get(device=device)
    assert letter.source == "iec61850" and "frequency_hz" in letter.raw


def test_a_missing_reference_is_logged_and_the_rest_is_read(world, caplog):
    with Iec61850LoopbackServer() as server:
        server.set_float("MMXU1.TotW.mag.f", 42.0)
        points = [POINTS[0], {"ref": PREFIX + "MMXU1.Nope.mag.f", "metric": "voltage_v"}]
        device = polled_device(plant=world.a.plant, protocol="iec61850", kind="meter",
                               connection=connection(server, points))
        with caplog.at_level(logging.ERROR, logger="iot.bridges"):
            poll("--once", "--device", device.serial)

    assert readings_of(device) == {"power_w": [42.0]}
    assert any("MMXU1.Nope" in r.getMessage() for r in caplog.records)


def test_it_keeps_polling_when_a_server_is_down(world, caplog):
    with Iec61850LoopbackServer() as server:
        server.set_float("MMXU1.TotW.mag.f", 7.0)
        good = polled_device(plant=world.a.plant, protocol="iec61850", kind="meter",
                             connection=connection(server, POINTS[:1]))
        down = polled_device(plant=world.a.plant, protocol="iec61850", kind="meter",
                             connection={**connection(server, POINTS[:1]), "port": free_port()})
        with caplog.at_level(logging.ERROR, logger="iot.bridges"):
            poll("--max-cycles", "3", "--device", good.serial, "--device", down.serial)

    assert readings_of(good)["power_w"][0] == 7.0
    down.refresh_from_db()
    assert down.status == "error"
    messages = [r.getMessage() for r in caplog.records if down.serial in r.getMessage()]
    assert len(messages) >= 2 and all("retrying in" in m for m in messages)


def test_point_maps_are_validated():
    with pytest.raises(DeviceConfigError, match="functional constraint"):
        parse_points([{"ref": "LD/LN.DO.DA", "metric": "power_w", "fc": "XX"}])
    with pytest.raises(DeviceConfigError, match="LD/LN"):
        parse_points([{"ref": "MMXU1.TotW", "metric": "power_w"}])


def test_it_reads_an_open61850_server_too(world):
    """The client's own library as the server (the issue asks for both sides of one library)."""
    from datetime import UTC, datetime

    from iot.testing.iec61850 import OPEN61850_PREFIX as OW
    from iot.testing.iec61850 import Open61850LoopbackServer

    stamp = datetime(2026, 11, 1, 12, 30, tzinfo=UTC)
    with Open61850LoopbackServer() as server:
        server.set("MMXU1.TotW.mag.f[MX]", 2750.0)
        server.set("MMXU1.TotW.t[MX]", stamp)
        server.set("MMTR1.TotWh.actVal[ST]", 9_876_543)
        device = polled_device(plant=world.a.plant, protocol="iec61850", kind="meter", connection={
            "host": "127.0.0.1", "port": server.port, "points": [
                {"ref": OW + "MMXU1.TotW.mag.f", "fc": "MX", "metric": "power_w",
                 "quality_ref": OW + "MMXU1.TotW.q", "time_ref": OW + "MMXU1.TotW.t"},
                {"ref": OW + "MMTR1.TotWh.actVal", "fc": "ST", "metric": "energy_export_kwh", "scale": 0.001},
            ]})
        poll("--once", "--device", device.serial)

    assert readings_of(device) == {"power_w": [2750.0], "energy_export_kwh": [pytest.approx(9876.543)]}
    assert Reading.objects.get(device_id=device.pk, metric__code="power_w").ts == stamp
