"""The demo's simulated devices (`python -m iot.testing.demo`) answer every poller with the
connection settings `demo_connections()` gives for them."""

import pytest
from django.core.management import call_command

from iot.testing.demo import DemoDevices, demo_connections, pv_power_w
from iot.testing.devices import polled_device, readings_of

BASE_PORT = 15080  # 15080-15083, inside the range kept for loopback test servers


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    certs = tmp_path_factory.mktemp("demo-certs")
    devices = DemoDevices(BASE_PORT, certs)
    yield demo_connections(BASE_PORT, certs)
    devices.stop()


@pytest.mark.parametrize(("protocol", "command", "expected"), [
    ("modbus", "modbus_poll", {"power_w", "energy_produced_kwh", "voltage_v", "current_a", "frequency_hz"}),
    ("opcua", "opcua_collect", {"power_w", "energy_import_kwh"}),
    ("dnp3", "dnp3_poll", {"power_w", "soc_pct"}),
    ("iec61850", "iec61850_poll", {"power_w", "frequency_hz"}),
])
def test_each_poller_reads_its_demo_device(world, demo, protocol, command, expected):
    device = polled_device(plant=world.a.plant, protocol=protocol, connection=demo[protocol])
    call_command(command, "--once", "--device", device.serial, "--timeout", "10")
    assert set(readings_of(device)) == expected


def test_pv_power_follows_the_day():
    from datetime import UTC, datetime

    assert pv_power_w(datetime(2026, 6, 21, 2, tzinfo=UTC)) == 0
    assert 4000 < pv_power_w(datetime(2026, 6, 21, 13, tzinfo=UTC)) <= 6000
