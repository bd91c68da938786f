"""Portal pages: My community, My plants, My metering points."""

import json
from datetime import date

from django.contrib.gis.geos import Point

from communities.models import Membership, MeteringPoint
from plants.models import Asset, Plant


def test_my_community_redirects_to_the_only_community(client, world):
    client.force_login(world.a.member)
    resp = client.get("/community/")
    assert resp.status_code == 302 and resp.url == f"/community/{world.a.community.pk}/"


def test_my_community_shows_counts_and_a_map_without_tiles(client, world):
    Plant.objects.create(
        name="Other's roof",
        owner=world.a.other_member,
        community=world.a.community,
        location=Point(11.345, 44.495, srid=4326),
        capacity_kwp=4,
    )
    client.force_login(world.a.member)
    resp = client.get(f"/community/{world.a.community.pk}/")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert 'id="member-count">2<' in html
    assert "10.0 kWp" in html  # 6 + 4: the aggregate counts every plant
    assert "vendor/leaflet/leaflet.js" in html and "tile" not in html.lower()
    data = json.loads(html.split('id="community-map-data" type="application/json">')[1].split("</script>")[0])
    assert data["boundary"]["type"] == "MultiPolygon"
    # A member's map shows their own plants, not another member's.
    assert [f["properties"]["name"] for f in data["plants"]["features"]] == ["Plant a"]
    assert "Other&#x27;s roof" not in html and "Other's roof" not in html


def test_a_referent_sees_every_plant_of_their_community(client, world):
    client.force_login(world.a.referent)
    resp = client.get(f"/community/{world.a.community.pk}/")
    assert resp.status_code == 200
    assert "Plant a" in resp.content.decode()


def test_another_communitys_page_is_404(client, world):
    client.force_login(world.a.member)
    assert client.get(f"/community/{world.b.community.pk}/").status_code == 404
    client.force_login(world.a.vendor)
    assert client.get(f"/community/{world.b.community.pk}/").status_code == 404


def test_the_list_shows_several_communities(client, world):
    Membership.objects.create(user=world.a.member, community=world.b.community, joined_at=date(2025, 1, 1))
    client.force_login(world.a.member)
    resp = client.get("/community/")
    assert resp.status_code == 200
    assert [c.name for c in resp.context["communities"]] == ["Community a", "Community b"]


def test_my_plants_lists_assets_of_my_plants_only(client, world):
    Asset.objects.create(
        plant=world.a.plant,
        kind="battery",
        manufacturer="BYD",
        model="HVS 10.2",
        capacity_kwh=10.2,
        power_kw=5,
        round_trip_efficiency=0.92,
    )
    client.force_login(world.a.member)
    resp = client.get("/plants/")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "Plant a" in html and "BYD HVS 10.2" in html and "10.2 kWh" in html
    assert "Plant b" not in html
    client.force_login(world.a.other_member)
    assert "Plant a" not in client.get("/plants/").content.decode()


def test_my_metering_points_lists_only_mine(client, world):
    MeteringPoint.objects.create(membership=world.a.membership, code="IT001E00000011")
    other = Membership.objects.get(user=world.a.other_member)
    MeteringPoint.objects.create(membership=other, code="IT001E00000022")
    client.force_login(world.a.member)
    html = client.get("/metering-points/").content.decode()
    assert "IT001E00000011" in html and "IT001E00000022" not in html
    client.force_login(world.a.referent)
    html = client.get("/metering-points/").content.decode()
    assert "IT001E00000011" in html and "IT001E00000022" in html


def test_the_pages_need_a_login(client, world):
    for url in ("/community/", f"/community/{world.a.community.pk}/", "/plants/", "/metering-points/"):
        resp = client.get(url)
        assert resp.status_code == 302 and "/login" in resp.url


def test_the_nav_links_to_the_pages(client, world):
    client.force_login(world.a.member)
    html = client.get("/plants/").content.decode()
    assert 'href="/community/"' in html and 'href="/metering-points/"' in html
