"""The back office of communities and plants, through a real admin login."""

import json

import pytest

from communities.models import Community, EnergyTransaction, Membership, MeteringPoint
from conftest import PASSWORD, make_user
from plants.models import Plant

pytestmark = pytest.mark.django_db


def login(client, user):
    resp = client.post("/admin/login/?next=/admin/", {"username": user.email, "password": PASSWORD})
    assert resp.status_code == 302, resp.content[:300]
    return client


def listed(resp):
    return list(resp.context["cl"].result_list)


def test_a_referent_lists_only_their_communitys_objects(client, world):
    login(client, world.a.referent)
    assert [c.name for c in listed(client.get("/admin/communities/community/"))] == ["Community a"]
    members = listed(client.get("/admin/communities/membership/"))
    assert {m.community_id for m in members} == {world.a.community.pk} and len(members) == 2
    assert [p.name for p in listed(client.get("/admin/plants/plant/"))] == ["Plant a"]
    for url in (
        f"/admin/communities/community/{world.b.community.pk}/change/",
        f"/admin/communities/membership/{world.b.membership.pk}/change/",
        f"/admin/plants/plant/{world.b.plant.pk}/change/",
    ):
        resp = client.get(url)
        assert resp.status_code == 302 and resp.url == "/admin/", url
    assert client.get(f"/admin/communities/community/{world.a.community.pk}/change/").status_code == 200


def test_a_vendor_sees_their_organization_only(client, world):
    login(client, world.b.vendor)
    assert [c.name for c in listed(client.get("/admin/communities/community/"))] == ["Community b"]
    assert [p.name for p in listed(client.get("/admin/plants/plant/"))] == ["Plant b"]


def test_a_referent_who_is_a_member_elsewhere_cannot_change_it(client, world):
    Membership.objects.create(user=world.a.referent, community=world.b.community, joined_at="2025-01-01")
    login(client, world.a.referent)
    # They see community b (as a member) but cannot change it.
    resp = client.post(f"/admin/communities/community/{world.b.community.pk}/change/", {"name": "Mine now"})
    assert resp.status_code == 403
    assert Community.objects.get(pk=world.b.community.pk).name == "Community b"


def test_members_cannot_enter_the_back_office(client, world):
    client.force_login(world.a.member)
    assert client.get("/admin/communities/community/").status_code == 302


def test_the_community_page_shows_members_inline_and_pods(client, world):
    MeteringPoint.objects.create(membership=world.a.membership, code="IT001E10101010")
    login(client, world.a.referent)
    resp = client.get(f"/admin/communities/community/{world.a.community.pk}/change/")
    html = resp.content.decode()
    assert "IT001E10101010" in html
    assert "memberships-TOTAL_FORMS" in html
    assert "vendor/leaflet/leaflet.js" in html and "openlayers" not in html.lower()


def test_it_saves_a_typed_boundary_and_warns_about_members_now_outside(client, world):
    login(client, world.admin)
    MeteringPoint.objects.create(
        membership=world.a.membership, code="IT001E20202020", location="SRID=4326;POINT(11.34 44.49)"
    )
    url = f"/admin/communities/community/{world.a.community.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("referents", "boundary")}
    data.update(
        {
            "organization": world.a.organization.pk,
            "referents": [world.a.referent.pk],
            "boundary": "POLYGON((12 45, 12.1 45, 12.1 45.1, 12 45.1, 12 45))",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        }
    )
    resp = client.post(url, data, follow=True)
    assert resp.status_code == 200
    msgs = [str(m) for m in resp.context["messages"]]
    assert any("IT001E20202020" in m and "Plant a" in m for m in msgs), msgs
    community = Community.objects.get(pk=world.a.community.pk)
    assert community.boundary.geom_type == "MultiPolygon"
    assert community.boundary.extent == (12.0, 45.0, 12.1, 45.1)
    assert Membership.objects.filter(community=community, left_at__isnull=True).count() == 2


def test_the_admin_refuses_an_ineligible_metering_point(client, world):
    login(client, world.a.referent)
    resp = client.post(
        "/admin/communities/meteringpoint/add/",
        {
            "code": "IT001E30303030",
            "membership": world.a.membership.pk,
            "location": "16.87, 41.12",
            "primary_substation": "AC001E00001",
            "market_zone": "",
            "direction": "withdrawal",
            "meter_serial": "",
            "is_smart_meter": "on",
        },
    )
    assert resp.status_code == 200
    assert "outside the boundary" in str(resp.context["adminform"].form.errors["location"])
    assert not MeteringPoint.objects.exists()
    resp = client.post(
        "/admin/communities/meteringpoint/add/",
        {
            "code": "IT001E30303030",
            "membership": world.a.membership.pk,
            "location": "11.345, 44.495",
            "primary_substation": "AC001E00001",
            "market_zone": "",
            "direction": "withdrawal",
            "meter_serial": "",
            "is_smart_meter": "on",
        },
    )
    assert resp.status_code == 302
    assert MeteringPoint.objects.get(code="IT001E30303030").location.coords == (11.345, 44.495)


def test_a_referent_cannot_attach_a_pod_to_another_community(client, world):
    login(client, world.a.referent)
    resp = client.post(
        "/admin/communities/meteringpoint/add/",
        {
            "code": "IT001E40404040",
            "membership": world.b.membership.pk,
            "direction": "withdrawal",
        },
    )
    assert resp.status_code == 200
    assert "membership" in resp.context["adminform"].form.errors
    assert not MeteringPoint.objects.exists()


def test_the_admin_refuses_a_plant_outside_the_boundary(client, world):
    login(client, world.a.vendor)
    resp = client.post(
        "/admin/plants/plant/add/",
        {
            "name": "Far",
            "owner": world.a.member.pk,
            "community": world.a.community.pk,
            "location": json.dumps({"type": "Point", "coordinates": [9.19, 45.46]}),
            "capacity_kwp": "5",
            "tilt_deg": "30",
            "azimuth_deg": "180",
            "losses_pct": "14",
            "technology": "pv_mono",
            "status": "operating",
            "assets-TOTAL_FORMS": "0",
            "assets-INITIAL_FORMS": "0",
        },
    )
    assert resp.status_code == 200
    assert "location" in resp.context["adminform"].form.errors
    assert not Plant.objects.filter(name="Far").exists()


def test_bulk_actions_mark_left_and_set_plant_status(client, world):
    login(client, world.a.referent)
    ids = list(Membership.objects.filter(community=world.a.community).values_list("pk", flat=True))
    resp = client.post(
        "/admin/communities/membership/",
        {"action": "mark_left", "_selected_action": [*ids, world.b.membership.pk]},
    )
    assert resp.status_code == 302
    assert Membership.objects.filter(community=world.a.community, status="left").count() == 2
    assert Membership.objects.get(pk=world.b.membership.pk).left_at is None
    assert Membership.objects.count() == 4  # history kept
    client.post(
        "/admin/plants/plant/",
        {"action": "set_maintenance", "_selected_action": [world.a.plant.pk, world.b.plant.pk]},
    )
    assert Plant.objects.get(pk=world.a.plant.pk).status == "maintenance"
    assert Plant.objects.get(pk=world.b.plant.pk).status == "operating"


def test_memberships_are_never_deleted_in_the_admin(client, world):
    login(client, world.admin)
    assert client.get(f"/admin/communities/membership/{world.a.membership.pk}/delete/").status_code == 403


def test_the_admin_filters_and_searches(client, world):
    login(client, world.admin)
    resp = client.get("/admin/communities/membership/", {"q": "member-b@"})
    assert [m.user.email for m in listed(resp)] == ["member-b@example.com"]
    resp = client.get("/admin/plants/plant/", {"community__id__exact": world.a.community.pk})
    assert [p.name for p in listed(resp)] == ["Plant a"]
    make_user("nobody@example.com")
    resp = client.get("/admin/communities/membership/", {"current": "no"})
    assert listed(resp) == []


def test_reference_data_is_read_only_for_referents(client, world):
    login(client, world.a.referent)
    assert client.get("/admin/communities/regimeparameters/").status_code == 200
    assert client.get("/admin/communities/regimeparameters/add/").status_code == 403


def test_the_admin_checks_transactions_like_the_api(client, world):
    login(client, world.admin)
    resp = client.post(
        "/admin/communities/energytransaction/add/",
        {
            "community": world.a.community.pk,
            "from_membership": world.b.membership.pk,
            "to_membership": "",
            "energy_kwh": "2",
            "unit_price_eur_per_kwh": "0.1",
            "status": "pending",
            "interval_start_0": "2025-05-01",
            "interval_start_1": "10:00:00",
            "interval_end_0": "2025-05-01",
            "interval_end_1": "09:00:00",
        },
    )
    assert resp.status_code == 200
    errors = resp.context["adminform"].form.errors
    assert "from_membership" in errors and "interval_end" in errors
    assert not EnergyTransaction.objects.exists()


def test_a_vendor_adds_a_community_in_their_organization_only(client, world):
    login(client, world.a.vendor)
    page = client.get("/admin/communities/community/add/")
    assert list(page.context["adminform"].form.fields["organization"].queryset) == [world.a.organization]
    base = {
        "name": "CER Casalecchio",
        "slug": "cer-casalecchio",
        "regime": "it_cer",
        "status": "draft",
        "boundary": "POLYGON((11.26 44.46, 11.30 44.46, 11.30 44.49, 11.26 44.49, 11.26 44.46))",
        "primary_substation": "AC001E02000",
        "market_zone": "NORD",
        "time_zone": "Europe/Rome",
        "currency": "EUR",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    }
    resp = client.post("/admin/communities/community/add/", {**base, "organization": world.b.organization.pk})
    assert resp.status_code == 200 and "organization" in resp.context["adminform"].form.errors
    resp = client.post("/admin/communities/community/add/", {**base, "organization": world.a.organization.pk})
    assert resp.status_code == 302
    created = Community.objects.get(slug="cer-casalecchio")
    assert created.organization == world.a.organization and created.boundary.geom_type == "MultiPolygon"
    # a referent may not add communities
    client.logout()
    login(client, world.a.referent)
    assert client.get("/admin/communities/community/add/").status_code == 403


def test_a_member_elsewhere_does_not_see_that_communitys_pods(client, world):
    MeteringPoint.objects.create(membership=world.b.membership, code="IT001E50505050")
    Membership.objects.create(user=world.a.referent, community=world.b.community, joined_at="2025-01-01")
    login(client, world.a.referent)
    resp = client.get(f"/admin/communities/community/{world.b.community.pk}/change/")
    assert resp.status_code == 200  # they may look at their own community b (read only)
    html = resp.content.decode()
    assert "IT001E50505050" not in html and "member-b@example.com" not in html
    assert "Member b" not in html and "Other b" not in html


def test_the_admin_does_not_create_a_settled_transaction(client, world):
    login(client, world.admin)
    other = world.a.community.memberships.exclude(pk=world.a.membership.pk).first()
    resp = client.post(
        "/admin/communities/energytransaction/add/",
        {
            "community": world.a.community.pk,
            "from_membership": world.a.membership.pk,
            "to_membership": other.pk,
            "energy_kwh": "2",
            "unit_price_eur_per_kwh": "0.1",
            "status": "settled",
            "interval_start_0": "2025-05-01",
            "interval_start_1": "10:00:00",
            "interval_end_0": "2025-05-01",
            "interval_end_1": "11:00:00",
        },
    )
    assert resp.status_code == 200
    assert "status" in resp.context["adminform"].form.errors
    assert not EnergyTransaction.objects.exists()
