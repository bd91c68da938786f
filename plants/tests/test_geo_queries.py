from django.contrib.gis.geos import Point

from plants.models import Plant

URL = "/api/v1/plants"


def add_plant(world, name, lon, lat):
    return Plant.objects.create(
        name=name,
        owner=world.a.member,
        community=world.a.community,
        location=Point(lon, lat, srid=4326),
        capacity_kwp=3,
    )


def test_it_finds_plants_in_a_bbox(world, as_user):
    add_plant(world, "East", 11.355, 44.49)
    client = as_user(world.admin)
    body = client.get(URL, {"in_bbox": "11.33,44.48,11.345,44.50"}).json()
    assert [p["name"] for p in body["items"]] == ["Plant a"]
    body = client.get(URL, {"in_bbox": "10,40,18,46"}).json()
    assert body["total"] == 3


def test_it_finds_plants_near_a_point_nearest_first_with_distance(world, as_user):
    add_plant(world, "Two km east", 11.365, 44.49)
    client = as_user(world.admin)
    body = client.get(URL, {"near": "44.49,11.34", "radius_km": "5"}).json()
    assert [p["name"] for p in body["items"]] == ["Plant a", "Two km east"]
    assert body["items"][0]["distance_km"] == 0.0
    # 0.025 degrees of longitude at 44.49 N is about 1.98 km.
    assert 1.9 < body["items"][1]["distance_km"] < 2.1
    assert client.get(URL, {"near": "44.49,11.34", "radius_km": "1"}).json()["total"] == 1
    # Bari is ~540 km away: inside 600 km, not inside 500.
    assert client.get(URL, {"near": "44.49,11.34", "radius_km": "600"}).json()["total"] == 3
    assert client.get(URL, {"near": "44.49,11.34", "radius_km": "500"}).json()["total"] == 2
    assert client.get(URL).json()["items"][0]["distance_km"] is None


def test_it_filters_by_community(world, as_user):
    body = as_user(world.admin).get(URL, {"community": world.b.community.pk}).json()
    assert [p["name"] for p in body["items"]] == ["Plant b"]


def test_it_answers_geojson(world, as_user):
    add_plant(world, "East", 11.355, 44.49)
    resp = as_user(world.a.vendor).get(URL, {"format": "geojson", "size": 1, "ordering": "name"})
    assert resp.status_code == 200
    assert resp["Content-Type"].startswith("application/geo+json")
    body = resp.json()
    assert body["type"] == "FeatureCollection"
    assert body["total"] == 2 and body["size"] == 1 and body["page"] == 1
    feature = body["features"][0]
    assert feature["geometry"] == {"type": "Point", "coordinates": [11.355, 44.49]}
    assert feature["properties"]["name"] == "East"
    assert feature["id"] == feature["properties"]["id"]


def test_it_rejects_bad_geo_parameters(world, as_user):
    client = as_user(world.admin)
    for params, field in [
        ({"in_bbox": "1,2,3"}, "in_bbox"),
        ({"in_bbox": "a,b,c,d"}, "in_bbox"),
        ({"in_bbox": "12,44,11,45"}, "in_bbox"),
        ({"near": "44.49"}, "near"),
        ({"near": "95,11"}, "near"),
        ({"near": "44.49,11.34", "radius_km": "-1"}, "radius_km"),
        ({"near": "44.49,11.34", "radius_km": "far"}, "radius_km"),
    ]:
        resp = client.get(URL, params)
        assert resp.status_code == 400, params
        body = resp.json()
        assert body["error"] == "ValidationError"
        assert field in body["details"], (params, body)


def test_geojson_errors_keep_the_json_envelope(world, as_user):
    resp = as_user(world.admin).get(URL, {"format": "geojson", "in_bbox": "1,2"})
    assert resp.status_code == 400
    assert resp["Content-Type"] == "application/json"
    assert resp.json()["details"]["in_bbox"]
