"""`manage.py iot_import_csv`: CSV readings through the one write path."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from iot.ingest.partitions import partitions_ensure
from iot.models import DeadLetter
from iot.testing.registry import make_device, stored_readings

pytestmark = pytest.mark.django_db


@pytest.fixture
def meter(world):
    device, _ = make_device("CSV-MTR", kind="meter", plant=world.a.plant)
    return device


def run(*args) -> dict:
    out = StringIO()
    call_command("iot_import_csv", *map(str, args), stdout=out)
    return json.loads(out.getvalue())


def write(tmp_path, text: str):
    path = tmp_path / "readings.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_it_imports_readings_and_dead_letters_bad_rows_with_their_line(meter, tmp_path):
    partitions_ensure()
    path = write(tmp_path, (
        "device,metric,ts,value\n"
        "CSV-MTR,energy_import_kwh,2026-06-01T00:00:00+00:00,1000.5\n"
        "CSV-MTR,energy_import_kwh,2026-06-01T00:15:00+00:00,1000.75\n"
        "CSV-MTR,power_w,2026-06-01T00:15:00+00:00,lots\n"
        "CSV-MTR,no_such_metric,2026-06-01T00:15:00+00:00,1\n"
        "OTHER-DEVICE,power_w,2026-06-01T00:15:00+00:00,1\n"
    ))

    summary = run(path, "--batch-size", 2)

    assert (summary["accepted"], summary["duplicate"], summary["rejected"]) == (2, 0, 3)
    assert [e["line"] for e in summary["errors"]] == [4, 5, 6]
    stored = stored_readings(meter)
    assert [(metric, value) for _, metric, _, value in stored] == [
        ("energy_import_kwh", 1000.5), ("energy_import_kwh", 1000.75)]
    assert DeadLetter.objects.filter(source="import").count() == 3


def test_importing_the_same_file_twice_changes_nothing(meter, tmp_path):
    partitions_ensure()
    path = write(tmp_path, (
        "metric,ts,value\n"
        "power_w,2026-06-01T10:00:00Z,1500\n"
        "power_w,2026-06-01T10:01:00Z,1600\n"
    ))

    first = run(path, "--device", "CSV-MTR")
    second = run(path, "--device", "CSV-MTR")

    assert (first["accepted"], second["accepted"], second["duplicate"]) == (2, 0, 2)
    assert len(stored_readings(meter)) == 2


def test_it_refuses_a_file_without_the_columns_and_stores_nothing(meter, tmp_path):
    path = write(tmp_path, "metric,when,value\npower_w,2026-06-01T10:00:00Z,1500\n")

    with pytest.raises(CommandError, match="ts, device"):
        run(path)
    assert stored_readings(meter) == []
