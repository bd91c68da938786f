import pytest
from django.contrib.gis.geos import GEOSGeometry

from communities.models import Community
from conftest import square

URL = "/api/v1/communities"


def geojson_square(lon, lat, half=0.02):
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
        [lon - half, lat - half],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def test_it_creates_a_community_in_the_vendors_organization(world, as_user):
    resp = as_user(world.a.vendor).post(
        URL,
        {
            "name": "Magliano Sole",
            "boundary": geojson_square(7.8, 44.46),
            "primary_substation": "ac123",
            "regime": "it_cer",
            "market_zone": "NORD",
        },
        format="json",
    )
    assert resp.status_code == 201, resp.json()
    body = resp.json()
    community = Community.objects.get(pk=body["id"])
    assert community.organization == world.a.organization
    assert community.slug == "magliano-sole"
    assert community.primary_substation == "AC123"
    assert community.boundary.geom_type == "MultiPolygon"
    assert body["boundary"]["type"] == "MultiPolygon"
    assert body["member_count"] == 0


def test_it_refuses_a_vendor_creating_in_another_organization(world, as_user):
    # another organization's id reads exactly like a missing one (issue 8, item 4)
    resp = as_user(world.a.vendor).post(
        URL, {"name": "X", "organization": world.b.organization.pk}, format="json"
    )
    missing = as_user(world.a.vendor).post(URL, {"name": "X", "organization": 999_999_999}, format="json")
    assert resp.status_code == missing.status_code == 400
    assert resp.json()["details"].keys() == missing.json()["details"].keys() == {"organization"}
    assert "does not exist" in str(resp.json()["details"]["organization"])
    assert not Community.objects.filter(name="X").exists()


def test_it_refuses_members_and_referents_creating_communities(world, as_user):
    for user in (world.a.member, world.a.referent):
        resp = as_user(user).post(URL, {"name": "Mine"}, format="json")
        assert resp.status_code == 403
    assert not Community.objects.filter(name="Mine").exists()


def test_it_requires_an_organization_from_admins(world, as_user):
    resp = as_user(world.admin).post(URL, {"name": "Orphan"}, format="json")
    assert resp.status_code == 400
    assert "organization" in resp.json()["details"]


def test_it_rejects_invalid_geojson_with_a_400_naming_boundary(world, as_user):
    client = as_user(world.a.referent)
    before = Community.objects.get(pk=world.a.community.pk).boundary
    bad_inputs = [
        {"type": "Polygon", "coordinates": "nope"},
        {"type": "Point", "coordinates": [11, 44]},
        "not json at all",
        # a bow-tie: self-intersecting ring
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
        {"type": "Polygon", "coordinates": [[[200, 0], [201, 1], [201, 0], [200, 0]]]},
    ]
    for bad in bad_inputs:
        resp = client.patch(f"{URL}/{world.a.community.pk}", {"boundary": bad}, format="json")
        assert resp.status_code == 400, (bad, resp.json())
        body = resp.json()
        assert body["error"] == "ValidationError"
        assert "boundary" in body["details"]
    assert Community.objects.get(pk=world.a.community.pk).boundary.equals(before)


def test_it_round_trips_the_boundary_as_geojson(world, as_user):
    client = as_user(world.a.referent)
    shape = {
        "type": "MultiPolygon",
        "coordinates": [[[[11.3, 44.45], [11.4, 44.45], [11.4, 44.55], [11.3, 44.55], [11.3, 44.45]]]],
    }
    resp = client.patch(f"{URL}/{world.a.community.pk}", {"boundary": shape}, format="json")
    assert resp.status_code == 200, resp.json()
    out = client.get(f"{URL}/{world.a.community.pk}/boundary").json()
    assert out["type"] == "Feature"
    assert out["geometry"]["type"] == "MultiPolygon"
    assert GEOSGeometry(str(out["geometry"]).replace("'", '"')).equals(
        GEOSGeometry(str(shape).replace("'", '"'))
    )
    detail = client.get(f"{URL}/{world.a.community.pk}").json()
    assert detail["boundary"] == out["geometry"]


def test_it_gives_members_only_public_facts(world, as_user):
    resp = as_user(world.a.member).get(f"{URL}/{world.a.community.pk}")
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {
        "id",
        "name",
        "slug",
        "regime",
        "status",
        "market_zone",
        "boundary",
        "member_count",
        "installed_kwp",
    }
    assert body["member_count"] == 2
    assert body["installed_kwp"] == "6.000"
    listing = as_user(world.a.member).get(URL).json()
    assert listing["total"] == 1
    assert "referents" not in listing["items"][0]


def test_it_gives_managers_the_full_community(world, as_user):
    body = as_user(world.a.referent).get(f"{URL}/{world.a.community.pk}").json()
    assert body["referents"] == [world.a.referent.pk]
    assert body["primary_substation"] == "AC001E00001"
    assert body["managed"] is True


def test_it_refuses_members_changing_their_community(world, as_user):
    resp = as_user(world.a.member).patch(f"{URL}/{world.a.community.pk}", {"name": "Hacked"}, format="json")
    assert resp.status_code == 403
    assert Community.objects.get(pk=world.a.community.pk).name == "Community a"


def test_it_replaces_with_put_and_validates_required_fields(world, as_user):
    client = as_user(world.a.vendor)
    resp = client.put(f"{URL}/{world.a.community.pk}", {"regime": "it_cer"}, format="json")
    assert resp.status_code == 400
    assert "name" in resp.json()["details"]
    resp = client.put(
        f"{URL}/{world.a.community.pk}", {"name": "Bologna Sole", "time_zone": "Europe/Rome"}, format="json"
    )
    assert resp.status_code == 200
    assert resp.json()["name"] == "Bologna Sole"


def test_it_refuses_a_referent_removing_themselves_from_the_referents(world, as_user):
    client = as_user(world.a.referent)
    url = f"{URL}/{world.a.community.pk}"
    resp = client.patch(url, {"referents": []}, format="json")
    assert resp.status_code == 400
    assert "referents" in resp.json()["details"]
    # a form PUT without the field means "no referents" too
    assert client.put(url, {"name": "Renamed"}).status_code == 400
    assert list(Community.objects.get(pk=world.a.community.pk).referents.all()) == [world.a.referent]
    assert client.patch(url, {"referents": [world.a.referent.pk]}, format="json").status_code == 200


def test_it_rejects_an_unknown_time_zone(world, as_user):
    resp = as_user(world.a.vendor).patch(
        f"{URL}/{world.a.community.pk}", {"time_zone": "Mars/Olympus"}, format="json"
    )
    assert resp.status_code == 400
    assert "time_zone" in resp.json()["details"]


def test_it_filters_orders_and_paginates(world, as_user):
    client = as_user(world.admin)
    assert client.get(URL).json()["total"] == 2
    assert client.get(URL, {"organization": world.b.organization.pk}).json()["total"] == 1
    body = client.get(URL, {"ordering": "-name", "size": 1}).json()
    assert body["size"] == 1 and body["total"] == 2
    assert body["items"][0]["name"] == "Community b"
    assert client.get(URL, {"search": "community-a"}).json()["total"] == 1
    assert client.get(URL, {"regime": "nonsense"}).status_code == 400


def test_it_reports_members_outside_after_a_boundary_change(world, as_user):
    client = as_user(world.a.referent)
    mp = client.post(
        "/api/v1/metering-points",
        {
            "membership": world.a.membership.pk,
            "code": "IT001E00000001",
            "location": {"lon": 11.34, "lat": 44.49},
        },
        format="json",
    )
    assert mp.status_code == 201, mp.json()
    # Move the boundary away from Bologna: the member's POD and the plant no longer fit.
    resp = client.patch(
        f"{URL}/{world.a.community.pk}", {"boundary": geojson_square(11.6, 44.7)}, format="json"
    )
    assert resp.status_code == 200
    outside = resp.json()["outside"]
    assert [p["code"] for p in outside["metering_points"]] == ["IT001E00000001"]
    assert [p["id"] for p in outside["plants"]] == [world.a.plant.pk]
    # Nothing was dropped.
    assert world.a.community.memberships.filter(left_at__isnull=True).count() == 2
    assert world.a.community.plants.count() == 1


def test_it_reports_nothing_when_the_boundary_still_fits(world, as_user):
    resp = as_user(world.a.referent).patch(
        f"{URL}/{world.a.community.pk}",
        {"boundary": {"type": "MultiPolygon", "coordinates": square(11.34, 44.49, 0.05).coords}},
        format="json",
    )
    assert resp.status_code == 200
    assert resp.json()["outside"] == {"metering_points": [], "plants": []}


def test_it_refuses_a_linked_crs_and_accepts_a_named_wgs84_one(world, as_user):
    client = as_user(world.a.referent)
    url = f"{URL}/{world.a.community.pk}"
    shape = geojson_square(11.34, 44.49)
    linked = {**shape, "crs": {"type": "link", "properties": {"href": "http://example.com/crs.wkt"}}}
    resp = client.patch(url, {"boundary": linked}, format="json")
    assert resp.status_code == 400
    assert "crs" in resp.json()["details"]["boundary"][0]
    other = {**shape, "crs": {"type": "name", "properties": {"name": "EPSG:3857"}}}
    assert client.patch(url, {"boundary": other}, format="json").status_code == 400
    named = {**shape, "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}}
    assert client.patch(url, {"boundary": named}, format="json").status_code == 200
    feature = {"type": "Feature", "properties": {}, "geometry": geojson_square(11.35, 44.5)}
    resp = client.patch(url, {"boundary": feature}, format="json")
    assert resp.status_code == 200
    assert Community.objects.get(pk=world.a.community.pk).boundary.centroid.coords == pytest.approx(
        (11.35, 44.5)
    )
