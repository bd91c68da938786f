"""Telemetry read API: device time series, a user's latest values and history, community series."""

from datetime import UTC, datetime, timedelta

import pytest

from iot.ingest.service import ingest
from iot.read.selectors import plant_energy_kwh, plant_irradiation_kwh_m2
from iot.rollups.service import rollup_run
from iot.testing.registry import make_device

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 6, 1, tzinfo=UTC)


def url(device_id, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/api/v1/iot/devices/{device_id}/timeseries?{query}"


def five_minutely(serial, start, count, metric="power_w", value=lambda i: 100.0 + i):
    return [{"device": serial, "metric": metric, "ts": start + timedelta(minutes=5 * i), "value": value(i)}
            for i in range(count)]


@pytest.fixture
def meter(world):
    device, _ = make_device("Q-MTR-A", kind="meter", plant=world.a.plant, expected_interval_s=300)
    ingest(five_minutely(device.serial, T0, 12 * 24 * 3), source="import")  # 3 days, 864 points
    ingest(five_minutely(device.serial, T0, 12 * 24 * 3, "energy_import_kwh", lambda i: 50 + 0.1 * i),
           source="import")
    rollup_run()
    return device


def test_it_serves_raw_readings(as_user, world, meter):
    response = as_user(world.a.member).get(url(meter.pk, metric="power_w", start="2026-06-01T00:00:00Z",
                                               end="2026-06-01T01:00:00Z", resolution="raw"))

    assert response.status_code == 200
    body = response.json()
    assert (body["resolution"], body["unit"], body["points"]) == ("raw", "W", 12)
    assert body["value"] == [100.0 + i for i in range(12)]
    assert body["t"][1] == "2026-06-01T00:05:00+00:00"


def test_it_serves_rollups_with_statistics_and_counter_deltas(as_user, world, meter):
    client = as_user(world.a.member)
    hourly = client.get(url(meter.pk, metric="power_w", start="2026-06-01", end="2026-06-01T03:00:00Z",
                            resolution="1h")).json()
    energy = client.get(url(meter.pk, metric="energy_import_kwh", start="2026-06-01", end="2026-06-02",
                            resolution="1h")).json()

    assert hourly["t"] == ["2026-06-01T00:00:00+00:00", "2026-06-01T01:00:00+00:00",
                           "2026-06-01T02:00:00+00:00"]
    assert hourly["value"][1] == pytest.approx(sum(100.0 + i for i in range(12, 24)) / 12)
    assert (hourly["min"][1], hourly["max"][1], hourly["count"][1]) == (112.0, 123.0, 12)
    assert (hourly["first"][1], hourly["last"][1]) == (112.0, 123.0)
    assert energy["delta"][0] == pytest.approx(1.1)  # 11 differences in the first hour
    assert energy["delta"][1] == pytest.approx(1.2)
    assert hourly["delta"] == [None, None, None]


def test_auto_picks_the_finest_resolution_with_at_most_2000_points(as_user, world, meter):
    client = as_user(world.a.member)
    three_days = client.get(url(meter.pk, metric="power_w", start="2026-06-01", end="2026-06-04")).json()
    ingest(five_minutely(meter.serial, T0 + timedelta(days=3), 12 * 24 * 5), source="import")
    rollup_run()
    eight_days = client.get(url(meter.pk, metric="power_w", start="2026-06-01", end="2026-06-09")).json()

    assert (three_days["resolution"], three_days["points"]) == ("raw", 864)
    assert (eight_days["resolution"], eight_days["points"]) == ("15m", 8 * 96)  # raw would be 2,304


@pytest.mark.parametrize("params, field", [
    ({"metric": "no_such_metric"}, "metric"),
    ({}, "metric"),
    ({"metric": "power_w", "start": "2026-06-02", "end": "2026-06-01"}, "start"),
    ({"metric": "power_w", "resolution": "5m"}, "resolution"),
    ({"metric": "power_w", "start": "yesterday"}, "start"),
])
def test_it_rejects_bad_input_with_a_clear_envelope(as_user, world, meter, params, field):
    response = as_user(world.a.member).get(url(meter.pk, **params))

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "ValidationError" and field in body["details"]
    assert body["message"].startswith(field)


def test_it_refuses_raw_series_over_the_point_cap(as_user, world, meter, settings):
    settings.IOT_QUERY_MAX_POINTS = 100

    response = as_user(world.a.member).get(url(meter.pk, metric="power_w", start="2026-06-01",
                                               end="2026-06-02", resolution="raw"))

    assert response.status_code == 400
    assert response.json()["error"] == "TooManyPoints"


def test_it_hides_other_communities(as_user, api, world, meter):
    path = url(meter.pk, metric="power_w", start="2026-06-01", end="2026-06-02")

    assert as_user(world.b.member).get(path).status_code == 404
    assert as_user(world.b.referent).get(path).status_code == 404
    assert as_user(world.a.other_member).get(path).status_code == 404  # another member's meter
    assert as_user(world.a.referent).get(path).status_code == 200
    assert as_user(world.a.vendor).get(path).status_code == 200
    assert api.get(path).status_code == 401


def test_latest_gives_the_newest_value_of_each_metric(as_user, world, meter):
    response = as_user(world.a.member).get(f"/api/v1/iot/latest/{world.a.member.pk}")

    assert response.status_code == 200
    (device,) = response.json()["devices"]
    assert device["serial"] == "Q-MTR-A"
    last = T0 + timedelta(minutes=5 * (12 * 24 * 3 - 1))
    assert device["values"]["power_w"] == {"ts": last.isoformat(), "value": 100.0 + 12 * 24 * 3 - 1,
                                           "unit": "W"}
    assert set(device["values"]) == {"power_w", "energy_import_kwh"}


def test_history_gives_each_device_series(as_user, world, meter):
    response = as_user(world.a.referent).get(
        f"/api/v1/iot/history/{world.a.member.pk}?metric=power_w&start=2026-06-01&end=2026-06-02&resolution=1d")

    assert response.status_code == 200
    body = response.json()
    (device,) = body["devices"]
    assert (body["metric"], device["resolution"], device["points"]) == ("power_w", "1d", 1)


def test_latest_and_history_hide_other_communities(as_user, world, meter):
    for path in (f"/api/v1/iot/latest/{world.a.member.pk}", f"/api/v1/iot/history/{world.a.member.pk}"):
        assert as_user(world.a.other_member).get(path).status_code == 404  # a member: only themself
        assert as_user(world.b.referent).get(path).status_code == 404
        assert as_user(world.a.referent).get(path).status_code == 200
    own = as_user(world.a.other_member).get(f"/api/v1/iot/latest/{world.a.other_member.pk}")
    assert own.status_code == 200 and own.json()["devices"] == []


def test_community_series_sums_the_members_meters(as_user, world, meter):
    other, _ = make_device("Q-MTR-A2", kind="meter", community=world.a.community, expected_interval_s=300)
    ingest(five_minutely(other.serial, T0, 13, "energy_import_kwh", lambda i: 10 + 0.5 * i)
           + five_minutely(other.serial, T0, 13, "energy_export_kwh", lambda i: 0.2 * i), source="import")
    rollup_run()

    response = as_user(world.a.referent).get(
        f"/api/v1/iot/communities/{world.a.community.pk}/series?resolution=1h&start=2026-06-01&end=2026-06-01T02:00Z")

    assert response.status_code == 200
    body = response.json()
    assert body["t"] == ["2026-06-01T00:00:00+00:00", "2026-06-01T01:00:00+00:00"]
    assert body["import_kwh"] == [pytest.approx(1.1 + 5.5), pytest.approx(1.2 + 0.5)]
    assert body["export_kwh"] == [pytest.approx(2.2), pytest.approx(0.2)]
    assert body["shared_kwh"] == [pytest.approx(2.2), pytest.approx(0.2)]


def test_community_series_hides_other_communities(as_user, world, meter):
    path = f"/api/v1/iot/communities/{world.a.community.pk}/series"

    assert as_user(world.a.member).get(path).status_code == 403  # visible, not managed: one rule
    assert as_user(world.b.referent).get(path).status_code == 404
    assert as_user(world.a.vendor).get(path).status_code == 200
    assert as_user(world.a.referent).get(path + "?resolution=1w").status_code == 400


def test_plant_selectors_read_the_rollups(world):
    inverter, _ = make_device("Q-INV-A", kind="inverter", plant=world.a.plant, expected_interval_s=300)
    ingest(five_minutely(inverter.serial, T0, 25, "energy_produced_kwh", lambda i: 1000 + 0.4 * i)
           + five_minutely(inverter.serial, T0, 24, "irradiance_wm2", lambda i: 800.0), source="import")
    rollup_run()
    start, end = T0, T0 + timedelta(hours=2)

    # 23 differences end inside [00:00, 02:00); the one ending at 02:00 belongs to the next bucket
    assert plant_energy_kwh(plant=world.a.plant, start=start, end=end) == pytest.approx(23 * 0.4)
    assert plant_irradiation_kwh_m2(plant=world.a.plant, start=start, end=end) == pytest.approx(1.6)
    assert plant_energy_kwh(plant=world.b.plant, start=start, end=end) is None
    assert plant_irradiation_kwh_m2(plant=world.a.plant, start=end, end=end + timedelta(hours=1)) is None


def test_every_read_endpoint_is_in_the_openapi_schema(as_user, world):
    response = as_user(world.a.member).get("/api/v1/schema/?format=json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/api/v1/iot/devices/{device_id}/timeseries", "/api/v1/iot/latest/{user_id}",
                 "/api/v1/iot/history/{user_id}", "/api/v1/iot/communities/{community_id}/series",
                 "/api/v1/dashboard", "/api/v1/recent-activity", "/api/v1/energy/hourly",
                 "/api/v1/energy/daily", "/api/v1/energy/monthly", "/api/v1/battery/status",
                 "/api/v1/battery/history", "/api/v1/battery/health", "/api/v1/iot/alerts"):
        assert "get" in paths[path], path
    assert "text/event-stream" in paths["/api/v1/iot/stream"]["get"]["responses"]["200"]["content"]
