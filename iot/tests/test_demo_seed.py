"""`seed_demo` registers the demo devices `make run` feeds: MQTT ones for the simulator and
one polled device per industrial protocol pointing at `python -m iot.testing.demo`."""

import io

import pytest
from django.core.management import call_command

from iot.models import Device
from iot.testing.demo import demo_connections

pytestmark = pytest.mark.django_db


def test_it_registers_one_polled_device_per_protocol_at_the_demo_servers(settings, tmp_path):
    settings.MQTT_AUTH_DIR = tmp_path
    call_command("seed_demo", stdout=io.StringIO())
    polled = {d.protocol: d for d in Device.objects.exclude(protocol="mqtt")}
    assert set(polled) == {"modbus", "opcua", "dnp3", "iec61850"}
    expected = demo_connections()
    assert all(d.connection == expected[p] and d.is_active and d.plant_id for p, d in polled.items())
    assert Device.objects.filter(protocol="mqtt").count() > 20  # meters, inverters, batteries, weather


def test_it_is_idempotent(settings, tmp_path):
    settings.MQTT_AUTH_DIR = tmp_path
    call_command("seed_demo", stdout=io.StringIO())
    count = Device.objects.count()
    call_command("seed_demo", stdout=io.StringIO())
    assert Device.objects.count() == count
