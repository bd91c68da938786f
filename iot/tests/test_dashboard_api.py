"""Seed 002 dashboard endpoints: overview, activity, energy per hour/day/month, battery."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from iot.alerts import device_offline_check
from iot.ingest.service import ingest
from iot.models import Device
from iot.rollups.service import rollup_run
from iot.testing.registry import make_device
from plants.models import Asset

pytestmark = pytest.mark.django_db

DAY_START = datetime(2026, 5, 31, 22, tzinfo=UTC)  # 2026-06-01 00:00 in Rome (UTC+2)
ENDPOINTS = ["/api/v1/dashboard", "/api/v1/recent-activity", "/api/v1/energy/hourly",
             "/api/v1/energy/daily", "/api/v1/energy/monthly", "/api/v1/battery/status",
             "/api/v1/battery/history", "/api/v1/battery/health"]


def item(device, metric, ts, value):
    return {"device": device.serial, "metric": metric, "ts": ts, "value": value}


@pytest.fixture
def home(world):
    """Member A's meter, inverter and battery (10 kWh) on plant A."""
    plant = world.a.plant
    meter, _ = make_device("D-MTR", kind="meter", plant=plant, expected_interval_s=900)
    inverter, _ = make_device("D-INV", kind="inverter", plant=plant, expected_interval_s=900)
    battery, _ = make_device("D-BAT", kind="battery", plant=plant, expected_interval_s=900)
    Asset.objects.create(plant=plant, kind="battery", capacity_kwh=Decimal("10"), power_kw=Decimal("5"),
                         round_trip_efficiency=Decimal("0.9"))
    day = []
    for i in range(97):  # 2026-06-01 local, every 15 minutes, both ends included
        ts = DAY_START + timedelta(minutes=15 * i)
        day += [item(meter, "energy_import_kwh", ts, 1000 + 0.25 * i),
                item(meter, "energy_export_kwh", ts, 500 + 0.1 * i),
                item(inverter, "energy_produced_kwh", ts, 2000 + 0.5 * i)]
    now = timezone.now().replace(microsecond=0)
    current = [  # the registers stood still since June 1, then moved in the last minute
        item(meter, "energy_import_kwh", now - timedelta(seconds=60), 1024.0),
        item(meter, "energy_import_kwh", now, 1025.5),
        item(meter, "energy_export_kwh", now - timedelta(seconds=60), 509.6),
        item(meter, "energy_export_kwh", now, 510.1),
        item(inverter, "energy_produced_kwh", now - timedelta(seconds=60), 2048.0),
        item(inverter, "energy_produced_kwh", now, 2050.0),
        item(meter, "power_w", now, 800.0), item(inverter, "power_w", now, 2000.0),
        item(battery, "power_w", now, -500.0), item(battery, "soc_pct", now, 60.0),
        item(battery, "battery_health_pct", now - timedelta(hours=2), 97.5),
        item(battery, "battery_health_pct", now, 97.0),
        item(battery, "battery_cycles", now - timedelta(hours=2), 120.0),
        item(battery, "battery_cycles", now, 121.0),
        item(battery, "battery_temp_c", now - timedelta(hours=2), 21.0),
        item(battery, "battery_temp_c", now, 25.0),
    ]
    assert ingest(day + current, source="import").rejected == 0
    rollup_run()
    return {"meter": meter, "inverter": inverter, "battery": battery}


def test_dashboard_gives_current_power_todays_energy_and_battery(as_user, world, home):
    body = as_user(world.a.member).get("/api/v1/dashboard").json()

    assert body["power_w"] == {"grid": 800.0, "production": 2000.0, "battery": -500.0, "consumption": 2300.0}
    today = body["energy_today_kwh"]
    assert (today["import_kwh"], today["export_kwh"], today["produced_kwh"]) == (
        pytest.approx(1.5), pytest.approx(0.5), pytest.approx(2.0))
    assert body["self_sufficiency_today_pct"] == 50.0  # own 1.5 of 1.5 + 1.5 imported
    assert body["battery"] == {"soc_pct": 60.0, "power_w": -500.0, "state": "charging"}
    assert body["devices"] == {"total": 3, "online": 3, "offline": 0, "error": 0}


def test_energy_hourly_gives_the_local_hours_of_a_day(as_user, world, home):
    body = as_user(world.a.member).get("/api/v1/energy/hourly?date=2026-06-01").json()

    assert (body["time_zone"], len(body["items"])) == ("Europe/Rome", 24)
    first = body["items"][0]
    assert first["t"] == "2026-05-31T22:00:00+00:00"
    # the difference ending at 00:00 local belongs to the hour it ends in: 3 in the first hour
    assert first["import_kwh"] == pytest.approx(0.75) and first["produced_kwh"] == pytest.approx(1.5)
    assert body["items"][1]["import_kwh"] == pytest.approx(1.0)
    # answers are rounded once (to the mWh): no binary noise such as 37.99999999999997
    assert body["totals"]["import_kwh"] == 23.75
    assert body["totals"]["self_consumed_kwh"] == 38.0  # 95 x 0.5 produced - 95 x 0.1 exported
    assert body["items"][5]["export_kwh"] == 0.4


def test_energy_daily_accepts_the_seed_month_format(as_user, world, home):
    body = as_user(world.a.member).get("/api/v1/energy/daily?start=2026-06&end=2026-06").json()

    assert len(body["items"]) == 30 and body["items"][0]["date"] == "2026-06-01"
    assert body["items"][0]["import_kwh"] == pytest.approx(95 * 0.25)
    assert body["items"][1]["import_kwh"] == pytest.approx(0.25)  # the reading at 00:00 of June 2
    assert body["items"][2]["import_kwh"] is None


def test_energy_monthly_gives_the_months_of_a_year(as_user, world, home):
    body = as_user(world.a.member).get("/api/v1/energy/monthly?year=2026").json()

    months = {row["month"]: row for row in body["items"]}
    assert len(months) == 12
    assert months["2026-06"]["import_kwh"] == pytest.approx(96 * 0.25)
    assert months["2026-01"]["import_kwh"] is None


def test_battery_endpoints(as_user, world, home):
    client = as_user(world.a.member)
    status = client.get("/api/v1/battery/status").json()
    history = client.get("/api/v1/battery/history?hours=3").json()
    health = client.get("/api/v1/battery/health?days=7").json()

    (battery,) = status["batteries"]
    assert (battery["soc_pct"], battery["state"], battery["stored_kwh"]) == (60.0, "charging", 6.0)
    assert (battery["health_pct"], battery["cycles"], battery["temperature_c"]) == (97.0, 121.0, 25.0)
    assert (status["soc_pct"], status["capacity_kwh"]) == (60.0, 10.0)
    (series,) = history["batteries"]
    assert series["soc_pct"]["value"] == [60.0] and series["soc_pct"]["resolution"] == "raw"
    (health_row,) = health["batteries"]
    assert health_row["health_change_pct"] == -0.5 and health_row["cycles_in_period"] == 1.0
    assert health_row["temperature_c"] == {"min": 21.0, "max": 25.0, "mean": 23.0}


def test_recent_activity_lists_alerts(as_user, world, home):
    Device.objects.filter(pk=home["meter"].pk).update(last_seen=timezone.now() - timedelta(hours=2))
    device_offline_check()

    items = as_user(world.a.member).get("/api/v1/recent-activity").json()["items"]

    assert [(i["type"], i["device"]["serial"]) for i in items] == [("alert.offline", "D-MTR")]


def test_a_referent_reads_the_whole_community(as_user, world, home):
    other_meter, _ = make_device("D-MTR-2", kind="meter", community=world.a.community,
                                 expected_interval_s=900)
    now = timezone.now()
    ingest([item(other_meter, "power_w", now, 100.0)], source="http")

    own = as_user(world.a.referent).get("/api/v1/dashboard").json()
    community = as_user(world.a.referent).get(f"/api/v1/dashboard?community={world.a.community.pk}").json()

    assert own["devices"]["total"] == 0
    assert community["devices"]["total"] == 4 and community["power_w"]["grid"] == 900.0


def test_it_hides_other_communities(as_user, world, home):
    for path in ENDPOINTS:
        query = f"{path}?community={world.a.community.pk}"
        assert as_user(world.b.referent).get(query).status_code == 404, path
        assert as_user(world.a.member).get(query).status_code == 403, path  # visible, not managed
        assert as_user(world.a.referent).get(query).status_code == 200, path
    assert as_user(world.b.member).get("/api/v1/dashboard").json()["devices"]["total"] == 0
    assert as_user(world.a.other_member).get("/api/v1/battery/status").json()["batteries"] == []


@pytest.mark.parametrize("path, field", [
    ("/api/v1/energy/hourly?date=2026-13-01", "date"),
    ("/api/v1/energy/daily?start=2026-06-10&end=2026-06-01", "start"),
    ("/api/v1/energy/monthly?months=0", "months"),
    ("/api/v1/battery/history?hours=abc", "hours"),
    ("/api/v1/dashboard?community=x", "community"),
])
def test_it_rejects_bad_input(as_user, world, path, field):
    response = as_user(world.a.member).get(path)

    assert response.status_code == 400
    assert field in response.json()["details"]


def test_anonymous_gets_401(api):
    for path in ENDPOINTS:
        assert api.get(path).status_code == 401, path
