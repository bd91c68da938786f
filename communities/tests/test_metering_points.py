import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.db import IntegrityError, transaction

from communities.models import MeteringPoint, SubstationArea

URL = "/api/v1/metering-points"


def test_it_creates_a_pod_and_normalises_its_code(world, as_user):
    resp = as_user(world.a.vendor).post(
        URL,
        {
            "membership": world.a.membership.pk,
            "code": " it001e87654321 ",
            "direction": "both",
            "location": {"type": "Point", "coordinates": [11.345, 44.492]},
        },
        format="json",
    )
    assert resp.status_code == 201, resp.json()
    body = resp.json()
    assert body["code"] == "IT001E87654321"
    assert body["primary_substation"] == "AC001E00001"  # the community's, by default
    assert body["market_zone"] == "NORD"
    assert body["location"] == {"type": "Point", "coordinates": [11.345, 44.492]}
    detail = as_user(world.a.member).get(f"{URL}/{body['id']}")
    assert detail.status_code == 200


@pytest.mark.parametrize("code", ["IT001X12345678", "IT01E12345678", "12345", "", "AT123"])
def test_it_rejects_bad_pod_formats(world, as_user, code):
    resp = as_user(world.a.vendor).post(
        URL, {"membership": world.a.membership.pk, "code": code}, format="json"
    )
    assert resp.status_code == 400
    assert "code" in resp.json()["details"]
    assert not MeteringPoint.objects.exists()


def test_it_accepts_french_and_austrian_codes(world, as_user):
    client = as_user(world.a.vendor)
    for code in ("30001234567890", "AT0010000000000000001000000000001"):
        assert (
            client.post(URL, {"membership": world.a.membership.pk, "code": code}, format="json").status_code
            == 201
        )


def test_it_keeps_pod_codes_unique(world, as_user):
    client = as_user(world.admin)
    assert (
        client.post(
            URL, {"membership": world.a.membership.pk, "code": "IT001E11111111"}, format="json"
        ).status_code
        == 201
    )
    resp = client.post(URL, {"membership": world.b.membership.pk, "code": "it001e11111111"}, format="json")
    assert resp.status_code == 400
    assert "code" in resp.json()["details"]
    with pytest.raises(IntegrityError), transaction.atomic():
        MeteringPoint.objects.create(membership=world.b.membership, code="IT001E11111111")


def test_it_infers_the_substation_from_imported_areas(world, as_user):
    ring = ((11.30, 44.45), (11.40, 44.45), (11.40, 44.55), (11.30, 44.55), (11.30, 44.45))
    SubstationArea.objects.create(
        code="AC001E00001", name="Bologna Nord", area=MultiPolygon(Polygon(ring, srid=4326), srid=4326)
    )
    resp = as_user(world.a.vendor).post(
        URL,
        {
            "membership": world.a.membership.pk,
            "code": "IT001E22222222",
            "location": {"lon": 11.35, "lat": 44.5},
        },
        format="json",
    )
    assert resp.status_code == 201
    assert resp.json()["primary_substation"] == "AC001E00001"


def test_it_refuses_a_point_inferred_under_another_substation(world, as_user):
    ring = ((11.30, 44.45), (11.40, 44.45), (11.40, 44.55), (11.30, 44.55), (11.30, 44.45))
    SubstationArea.objects.create(code="AC777", area=MultiPolygon(Polygon(ring, srid=4326), srid=4326))
    resp = as_user(world.a.vendor).post(
        URL,
        {
            "membership": world.a.membership.pk,
            "code": "IT001E22222223",
            "location": {"lon": 11.35, "lat": 44.5},
        },
        format="json",
    )
    assert resp.status_code == 400
    assert "primary_substation" in resp.json()["details"]


def test_it_refuses_pods_for_a_membership_that_ended(world, as_user):
    world.a.membership.left_at = world.a.membership.joined_at
    world.a.membership.status = "left"
    world.a.membership.save()
    resp = as_user(world.a.vendor).post(
        URL, {"membership": world.a.membership.pk, "code": "IT001E33333333"}, format="json"
    )
    assert resp.status_code == 400
    assert "membership" in resp.json()["details"]


def test_it_filters_metering_points(world, as_user):
    client = as_user(world.admin)
    client.post(
        URL,
        {"membership": world.a.membership.pk, "code": "IT001E44444444", "direction": "injection"},
        format="json",
    )
    client.post(URL, {"membership": world.b.membership.pk, "code": "IT001E55555555"}, format="json")
    assert client.get(URL).json()["total"] == 2
    assert client.get(URL, {"community": world.b.community.pk}).json()["total"] == 1
    assert client.get(URL, {"direction": "injection"}).json()["items"][0]["code"] == "IT001E44444444"
    assert client.get(URL, {"ordering": "-code"}).json()["items"][0]["code"] == "IT001E55555555"
