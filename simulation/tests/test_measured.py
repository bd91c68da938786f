"""Real members: measured consumption from the IoT rollups replaces the profile."""

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from simulation.serializers import ScenarioIn
from simulation.services import scenario_create


@pytest.mark.django_db(transaction=True)
def test_it_uses_a_consumers_measured_withdrawal(world):
    from communities.models import MeteringPoint
    from iot.ingest.partitions import partitions_ensure
    from iot.ingest.service import ingest
    from iot.rollups.service import rollup_run
    from iot.testing.registry import make_device

    other = world.a.community.memberships.get(user=world.a.other_member)
    pod = MeteringPoint.objects.create(code="IT001E00000042", membership=other)
    make_device("SIM-MTR-1", kind="meter", metering_point=pod, expected_interval_s=900)
    start = datetime(2025, 6, 2, tzinfo=UTC)
    partitions_ensure(today=start.date(), months_back=1, months_ahead=1)
    readings, register = [], 1000.0
    for q in range(3 * 96 + 1):  # a 15-minute register over three days (+ the closing reading)
        ts = start + timedelta(minutes=15 * q)
        readings.append(
            {"device": "SIM-MTR-1", "metric": "energy_import_kwh", "ts": ts.isoformat(), "value": register}
        )
        register += 0.1 + 0.05 * (ts.hour >= 18)
    result = ingest(readings, source="test")
    assert result.accepted == len(readings)
    rollup_run()
    # each register difference belongs to the interval of the later reading (iot rollups):
    # the span's energy runs from the first reading to the last one before its end
    measured_total = readings[3 * 96 - 1]["value"] - readings[0]["value"]

    serializer = ScenarioIn(
        data={
            "name": "measured",
            "community": world.a.community.pk,
            "start": start.isoformat(),
            "end": (start + timedelta(days=3)).isoformat(),
            "seed": 1,
            "members": [{"key": "other", "membership": other.pk, "profile": "H0", "annual_kwh": 99999}],
        }
    )
    serializer.is_valid(raise_exception=True)
    scenario = scenario_create(actor=world.a.referent, data=serializer.validated_data)
    out = StringIO()
    call_command("simulate", str(scenario.pk), stdout=out)
    summary = json.loads(out.getvalue())
    # the profile would give ~99999 * 3/365 = 822 kWh; the meter says ~32 kWh
    assert summary["total"]["consumption_kwh"] == pytest.approx(measured_total, abs=0.01)
