"""France's ACC perimeter and power cap in the community's validation (issue 10): a new
metering point or plant that breaks them is a 400 with a machine-readable item, and the
community's data-quality endpoint lists what no longer fits."""

from datetime import date

import pytest
from django.contrib.gis.geos import Point

from communities.models import MeteringPoint
from energy_rules.fr_acc import geodesic_m
from plants.models import Plant

pytestmark = pytest.mark.django_db
LON, LAT = 11.34, 44.49  # tenant A's plant


def north(km: float) -> tuple[float, float]:
    """(lon, lat) `km` due north of the plant along the meridian (bisection on the geodesic)."""
    lo, hi = LAT, LAT + km / 100
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if geodesic_m(LAT, LON, mid, LON) < km * 1000 else (lo, mid)
    return LON, lo


@pytest.fixture
def acc(world):
    community = world.a.community
    community.regime, community.boundary = "fr_acc", None
    community.save()
    return community


def plant_class(world, municipality_class: str) -> None:
    """Connect tenant A's plant through a metering point in a municipality of that class."""
    mp = MeteringPoint.objects.create(membership=world.a.membership, code="40000000000000",
                                      direction="injection", municipality_class=municipality_class,
                                      location=Point(LON, LAT, srid=4326))
    Plant.objects.filter(pk=world.a.plant.pk).update(metering_point=mp)


def add_point(as_user, world, km: float, municipality_class: str = ""):
    lon, lat = north(km)
    return as_user(world.a.referent).post("/api/v1/metering-points", {
        "membership": world.a.membership.pk, "code": "12345678901234", "location": {"lon": lon, "lat": lat},
        "municipality_class": municipality_class}, format="json")


@pytest.mark.parametrize("km, plant_cls, new_cls, ok, limit", [
    (1.9, "", "", True, 2),
    (2.1, "", "rural", False, 2),
    (9.0, "peri_urban", "rural", True, 10),
    (15.0, "rural", "rural", True, 20),
    (15.0, "peri_urban", "rural", False, 10),
    (21.0, "rural", "rural", False, 20),
])
def test_a_metering_point_must_keep_the_perimeter(acc, world, as_user, km, plant_cls, new_cls, ok, limit):
    if plant_cls:
        plant_class(world, plant_cls)
    resp = add_point(as_user, world, km, new_cls)
    if ok:
        assert resp.status_code == 201, resp.json()
        assert resp.json()["municipality_class"] == new_cls
        return
    assert resp.status_code == 400
    details = resp.json()["details"]
    item = details["perimeter"][0]
    assert item["code"] == "fr_acc_perimeter" and item["limit_km"] == limit
    assert item["distance_km"] == pytest.approx(km, abs=0.001)
    assert details["location"] == [item["message"]]
    assert not MeteringPoint.objects.filter(code="12345678901234").exists()


def test_an_italian_community_has_no_perimeter(world, as_user):
    world.a.community.boundary = None
    world.a.community.save()
    assert add_point(as_user, world, 30.0).status_code == 201


def test_a_plant_must_keep_the_power_cap(acc, world, as_user):
    body = {"name": "Ombrière", "owner": world.a.member.pk, "community": acc.pk,
            "location": {"lon": LON, "lat": LAT + 0.001}, "commissioned_on": "2025-01-01"}
    client = as_user(world.a.referent)
    resp = client.post("/api/v1/plants", {**body, "capacity_kwp": "4995"}, format="json")  # 6 + 4995 kW
    assert resp.status_code == 400
    item = resp.json()["details"]["power"][0]
    assert (item["code"], item["limit_kw"], item["total_kw"]) == ("fr_acc_power", 5000, 5001)
    assert resp.json()["details"]["capacity_kwp"] == [item["message"]]
    acc.public_body_single_epci = True
    acc.save()
    assert client.post("/api/v1/plants", {**body, "capacity_kwp": "4995"}, format="json").status_code == 201


def test_a_plant_must_keep_the_perimeter(acc, world, as_user):
    lon, lat = north(2.5)
    resp = as_user(world.a.referent).post("/api/v1/plants", {
        "name": "Loin", "owner": world.a.member.pk, "community": acc.pk, "location": {"lon": lon, "lat": lat},
        "capacity_kwp": "10", "commissioned_on": "2025-01-01"}, format="json")
    assert resp.status_code == 400 and resp.json()["details"]["perimeter"][0]["code"] == "fr_acc_perimeter"


def test_the_data_quality_endpoint_reports_what_no_longer_fits(acc, world, as_user):
    url = f"/api/v1/communities/{acc.pk}/data-quality"
    assert as_user(world.a.referent).get(url).json() == {"items": []}
    lon, lat = north(3.0)
    MeteringPoint.objects.create(membership=world.a.membership, code="55555555555555",
                                 location=Point(lon, lat, srid=4326))  # e.g. imported before the rule
    Plant.objects.create(name="Big", owner=world.a.member, community=acc, location=Point(LON, LAT, srid=4326),
                         capacity_kwp=6000, commissioned_on=date(2025, 1, 1))
    items = as_user(world.a.referent).get(url).json()["items"]
    assert [i["code"] for i in items] == ["fr_acc_perimeter", "fr_acc_power"]
    assert "55555555555555" in " ".join(items[0]["furthest"])
    assert as_user(world.a.member).get(url).status_code == 403
    assert as_user(world.b.referent).get(url).status_code == 404
    italian = f"/api/v1/communities/{world.b.community.pk}/data-quality"
    assert as_user(world.b.referent).get(italian).json() == {"items": []}


@pytest.mark.parametrize("regime, key, status", [
    ("fr_acc", "full_dynamic", 201), ("fr_acc", "dynamic", 201), ("at_eeg", "pro_rata", 201),
    ("at_eeg", "dynamic", 400), ("at_eeg", "full_dynamic", 400), ("it_cer", "full_dynamic", 400),
])
def test_a_configuration_uses_a_key_of_its_regime(world, as_user, regime, key, status):
    world.a.community.regime = regime
    world.a.community.save()
    resp = as_user(world.a.referent).post("/api/v1/configurations", {
        "community": world.a.community.pk, "name": "Keys", "valid_from": "2025-01-01", "allocation_key": key},
        format="json")
    assert resp.status_code == status, resp.json()
    if status == 400:
        assert "allocation_key" in resp.json()["details"]
