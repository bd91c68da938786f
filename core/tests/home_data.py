"""Telemetry for the homes' tests, written through the one ingest path and rolled up.

Community A gets: member A's meter and inverter (plant A), and the other member's meter on
a POD. Every quarter hour of the last three hours: member A imports 0.1 kWh and exports
0.6 kWh and produces 1.0 kWh, the other member imports 0.4 kWh. So per hour the community
withdraws 2.0 kWh and injects 2.4 kWh: shared 2.0 kWh, of which member A's share is 0.4.
"""

from datetime import timedelta

from django.contrib.gis.geos import Point
from django.utils import timezone

from communities.models import MeteringPoint
from iot.ingest.service import ingest
from iot.rollups.service import rollup_run
from iot.testing.registry import make_device


def build_home_data(world, hours: int = 3):
    a = world.a
    pod = MeteringPoint.objects.create(code="IT001E00000042", membership=a.community.memberships.get(
        user=a.other_member), location=Point(11.341, 44.491, srid=4326))
    meter_a, _ = make_device("HOME-MTR-A", kind="meter", plant=a.plant, expected_interval_s=900)
    inverter_a, _ = make_device("HOME-INV-A", kind="inverter", plant=a.plant, expected_interval_s=900)
    meter_o, _ = make_device("HOME-MTR-O", kind="meter", metering_point=pod, expected_interval_s=900)
    now = timezone.now().replace(second=0, microsecond=0)
    start = now - timedelta(hours=hours)
    items, i, t = [], 0, start
    while t <= now:
        items += [
            {"device": meter_a.serial, "metric": "energy_import_kwh", "ts": t, "value": 100 + 0.1 * i},
            {"device": meter_a.serial, "metric": "energy_export_kwh", "ts": t, "value": 500 + 0.6 * i},
            {"device": meter_a.serial, "metric": "power_w", "ts": t, "value": -2000.0},
            {"device": inverter_a.serial, "metric": "energy_produced_kwh", "ts": t, "value": 900 + 1.0 * i},
            {"device": inverter_a.serial, "metric": "power_w", "ts": t, "value": 4000.0},
            {"device": meter_o.serial, "metric": "energy_import_kwh", "ts": t, "value": 50 + 0.4 * i},
            {"device": meter_o.serial, "metric": "power_w", "ts": t, "value": 1600.0},
        ]
        i += 1
        t += timedelta(minutes=15)
    result = ingest(items, source="http")
    assert result.rejected == 0, result.errors
    rollup_run()
    return {"meter_a": meter_a, "inverter_a": inverter_a, "meter_o": meter_o, "pod": pod}
