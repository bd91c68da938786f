from datetime import date

from communities.models import Membership, MeteringPoint
from plants.models import Asset, Plant

URL = "/api/v1/plants"


def plant_body(world, **extra):
    return {
        "name": "Tetto scuola",
        "owner": world.a.member.pk,
        "community": world.a.community.pk,
        "location": {"lon": 11.345, "lat": 44.495},
        "capacity_kwp": "19.8",
        "commissioned_on": "2024-09-01",
        **extra,
    }


def pod(world, code="IT001E90000001", substation="AC001E00001", direction="injection"):
    return MeteringPoint.objects.create(
        membership=world.a.membership, code=code, primary_substation=substation, direction=direction
    )


def test_it_creates_a_plant_with_a_battery(world, as_user):
    body = plant_body(
        world,
        metering_point=pod(world).pk,
        assets=[
            {"kind": "inverter", "manufacturer": "SMA", "model": "STP 20"},
            {
                "kind": "battery",
                "manufacturer": "BYD",
                "capacity_kwh": "10.2",
                "power_kw": "5",
                "round_trip_efficiency": "0.92",
            },
        ],
    )
    resp = as_user(world.a.referent).post(URL, body, format="json")
    assert resp.status_code == 201, resp.json()
    out = resp.json()
    assert [a["kind"] for a in out["assets"]] == ["battery", "inverter"]
    assert out["metering_point_code"] == "IT001E90000001"
    assert out["location"] == {"type": "Point", "coordinates": [11.345, 44.495]}
    assert out["performance"] is None and out["period"]["end"]


def test_it_refuses_a_plant_outside_the_boundary(world, as_user):
    resp = as_user(world.a.referent).post(
        URL, plant_body(world, location={"lon": 12.0, "lat": 45.0}), format="json"
    )
    assert resp.status_code == 400
    assert "location" in resp.json()["details"]
    assert not Plant.objects.filter(name="Tetto scuola").exists()


def test_it_refuses_a_plant_under_another_primary_substation(world, as_user):
    mp = pod(world, substation="AC999")
    resp = as_user(world.a.referent).post(URL, plant_body(world, metering_point=mp.pk), format="json")
    assert resp.status_code == 400
    assert "metering_point" in resp.json()["details"]


def test_it_refuses_an_owner_who_is_not_a_member(world, as_user):
    resp = as_user(world.a.vendor).post(URL, plant_body(world, owner=world.a.vendor.pk), format="json")
    assert resp.status_code == 400
    assert "owner" in resp.json()["details"]


def test_it_refuses_a_battery_without_specs_and_creates_nothing(world, as_user):
    resp = as_user(world.a.referent).post(URL, plant_body(world, assets=[{"kind": "battery"}]), format="json")
    assert resp.status_code == 400
    assert "capacity_kwh" in resp.json()["details"]["assets"]
    assert not Plant.objects.filter(name="Tetto scuola").exists()
    assert not Asset.objects.exists()


def test_it_refuses_a_footprint_that_misses_the_location(world, as_user):
    site = {"type": "Polygon", "coordinates": [[[11.0, 44.0], [11.01, 44.0], [11.01, 44.01], [11.0, 44.0]]]}
    resp = as_user(world.a.referent).post(URL, plant_body(world, site=site), format="json")
    assert resp.status_code == 400
    assert "site" in resp.json()["details"]


def test_it_updates_a_plant_and_rechecks_eligibility(world, as_user):
    client = as_user(world.a.vendor)
    url = f"{URL}/{world.a.plant.pk}"
    resp = client.patch(url, {"status": "maintenance", "capacity_kwp": "7.5"}, format="json")
    assert resp.status_code == 200, resp.json()
    assert resp.json()["status"] == "maintenance"
    moved = client.patch(url, {"location": {"lon": 16.87, "lat": 41.12}}, format="json")
    assert moved.status_code == 400
    assert "location" in moved.json()["details"]
    plant = Plant.objects.get(pk=world.a.plant.pk)
    assert plant.location.x == 11.34 and plant.capacity_kwp == 7.5


def test_it_refuses_moving_a_plant_to_a_community_not_managed(world, as_user):
    resp = as_user(world.a.referent).patch(
        f"{URL}/{world.a.plant.pk}", {"community": world.b.community.pk}, format="json"
    )
    assert resp.status_code == 400  # community b is out of scope: it reads as not existing
    assert "community" in resp.json()["details"]


def test_it_refuses_members_writing_plants(world, as_user):
    client = as_user(world.a.member)
    assert client.patch(f"{URL}/{world.a.plant.pk}", {"name": "Mine"}, format="json").status_code == 403
    assert client.post(URL, plant_body(world), format="json").status_code == 403
    assert Plant.objects.get(pk=world.a.plant.pk).name == "Plant a"


def test_it_validates_the_performance_period(world, as_user):
    client = as_user(world.a.member)
    assert (
        client.get(f"{URL}/{world.a.plant.pk}", {"start": "2025-02-01", "end": "2025-01-01"}).status_code
        == 400
    )
    assert client.get(f"{URL}/{world.a.plant.pk}", {"start": "yesterday"}).status_code == 400
    body = client.get(f"{URL}/{world.a.plant.pk}", {"start": "2025-01-01", "end": "2025-02-01"}).json()
    assert body["period"] == {"start": "2025-01-01", "end": "2025-02-01"}


def test_it_filters_plants_by_attributes(world, as_user):
    client = as_user(world.admin)
    Plant.objects.create(
        name="Big",
        owner=world.a.member,
        community=world.a.community,
        location=world.a.plant.location,
        capacity_kwp=250,
        commissioned_on=date(2020, 1, 1),
    )
    assert client.get(URL, {"min_kwp": "100"}).json()["total"] == 1
    assert client.get(URL, {"commissioned_before": "2021-01-01"}).json()["items"][0]["name"] == "Big"
    assert client.get(URL, {"ordering": "-capacity_kwp"}).json()["items"][0]["name"] == "Big"
    assert client.get(URL, {"search": "big"}).json()["total"] == 1
    assert Membership.objects.count() == 4
