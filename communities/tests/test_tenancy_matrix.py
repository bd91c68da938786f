"""Every endpoint x method x role, over two tenants: an object outside the caller's scope
answers exactly like one that does not exist (404 on the URL, 400 "does not exist" when
named in a body), nothing changes, and lists count only the caller's scope."""

from datetime import UTC, datetime

import pytest

from communities.models import (
    Community,
    Configuration,
    EnergyTransaction,
    Membership,
    MeteringPoint,
)
from plants.models import Plant

MISSING = 999_999_999
ROLES = ["vendor", "referent", "member", "other_member"]


@pytest.fixture
def scene(world):
    """One metering point per membership, one configuration and one transaction per tenant."""
    n = 0
    for t in (world.a, world.b):
        memberships = list(Membership.objects.filter(community=t.community).order_by("id"))
        for m in memberships:
            n += 1
            MeteringPoint.objects.create(membership=m, code=f"IT001E{n:08d}")
        Configuration.objects.create(
            community=t.community, name="rules", valid_from=datetime(2025, 1, 1).date()
        )
        EnergyTransaction.objects.create(
            community=t.community,
            from_membership=memberships[0],
            to_membership=memberships[1],
            energy_kwh=1,
            interval_start=datetime(2025, 5, 1, 10, tzinfo=UTC),
            interval_end=datetime(2025, 5, 1, 11, tzinfo=UTC),
        )
    return world


def ids(t):
    """URL ids of tenant t's objects."""
    other = Membership.objects.get(user=t.other_member, community=t.community)
    return {
        "community": t.community.pk,
        "membership": t.membership.pk,
        "other_membership": other.pk,
        "mp": MeteringPoint.objects.get(membership=t.membership).pk,
        "other_mp": MeteringPoint.objects.get(membership=other).pk,
        "plant": t.plant.pk,
    }


# (method, url template, body) for every object URL of the API. {x} are ids of the target.
OBJECT_ENDPOINTS = [
    ("get", "/api/v1/communities/{community}", None),
    ("put", "/api/v1/communities/{community}", {"name": "Taken over"}),
    ("patch", "/api/v1/communities/{community}", {"name": "Taken over"}),
    ("get", "/api/v1/communities/{community}/boundary", None),
    ("get", "/api/v1/communities/{community}/members", None),
    ("post", "/api/v1/communities/{community}/members", {"email": "intruder@example.com"}),
    ("get", "/api/v1/communities/{community}/members/{membership}", None),
    ("delete", "/api/v1/communities/{community}/members/{membership}", None),
    ("get", "/api/v1/communities/{community}/transactions", None),
    ("post", "/api/v1/communities/{community}/transactions", {}),
    ("get", "/api/v1/metering-points/{mp}", None),
    ("get", "/api/v1/plants/{plant}", None),
    ("put", "/api/v1/plants/{plant}", {"name": "Taken over"}),
    ("patch", "/api/v1/plants/{plant}", {"name": "Taken over"}),
]


def snapshot():
    return (
        sorted(Community.objects.values_list("name", flat=True)),
        sorted(Membership.objects.values_list("id", "left_at")),
        Membership.objects.count(),
        EnergyTransaction.objects.count(),
        sorted(Plant.objects.values_list("name", flat=True)),
    )


def call(client, method, url, body):
    return (
        getattr(client, method)(url, body, format="json")
        if body is not None
        else getattr(client, method)(url)
    )


@pytest.mark.parametrize(("method", "template", "body"), OBJECT_ENDPOINTS)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("tenant", ["a", "b"])
def test_it_hides_other_communities(scene, as_user, tenant, role, method, template, body):
    mine, theirs = (scene.a, scene.b) if tenant == "a" else (scene.b, scene.a)
    client = as_user(getattr(mine, role))
    before = snapshot()
    foreign = call(client, method, template.format(**ids(theirs)), body)
    missing = call(client, method, template.format(**dict.fromkeys(ids(theirs), MISSING)), body)
    assert foreign.status_code == 404, foreign.content
    assert foreign.json() == missing.json()
    assert foreign.json()["error"] == "NotFound"
    assert snapshot() == before


# Own-tenant objects a member must not see: another member's POD, another member's plant.
MEMBER_PRIVATE = [
    ("get", "/api/v1/communities/{community}/members/{other_membership}"),
    ("delete", "/api/v1/communities/{community}/members/{other_membership}"),
    ("get", "/api/v1/metering-points/{other_mp}"),
]


@pytest.mark.parametrize(("method", "template"), MEMBER_PRIVATE)
def test_it_hides_other_members_data_from_a_member(scene, as_user, method, template):
    resp = call(as_user(scene.a.member), method, template.format(**ids(scene.a)), None)
    assert resp.status_code == 404
    plant = as_user(scene.a.other_member).get(f"/api/v1/plants/{scene.a.plant.pk}")
    assert plant.status_code == 404


@pytest.mark.parametrize("role", ["admin", *ROLES])
@pytest.mark.parametrize(("method", "template", "body"), OBJECT_ENDPOINTS)
def test_it_lets_each_role_reach_its_own_scope(scene, as_user, role, method, template, body):
    """Same table, own tenant: reads succeed for whoever may see the object; writes by
    managers pass the scope check (they may still be 400 on a partial body); members and
    outsiders to the object get 403 on writes, never a leak."""
    user = scene.admin if role == "admin" else getattr(scene.a, role)
    target = ids(scene.a)
    resp = call(as_user(user), method, template.format(**target), body)
    manager = role in ("admin", "vendor", "referent")
    sees_object = manager or (
        role == "member"
        or ("{plant}" not in template and "{mp}" not in template and "{membership}" not in template)
    )
    if not sees_object:
        assert resp.status_code == 404
    elif method == "get":
        assert resp.status_code == 200
    elif manager:
        assert resp.status_code in (200, 201, 202, 400), resp.content
    else:
        assert resp.status_code == 403, resp.content


LISTS = {
    # url: counts for admin, vendor, referent, member, other_member (of tenant a)
    "/api/v1/communities": (2, 1, 1, 1, 1),
    "/api/v1/members": (4, 2, 2, 1, 1),
    "/api/v1/metering-points": (4, 2, 2, 1, 1),
    "/api/v1/configurations": (2, 1, 1, 1, 1),
    "/api/v1/transactions": (2, 1, 1, 1, 1),
    "/api/v1/plants": (2, 1, 1, 1, 0),
    "/api/v1/communities/{community}/members": (2, 2, 2, 1, 1),
    "/api/v1/communities/{community}/transactions": (1, 1, 1, 1, 1),
}


@pytest.mark.parametrize("url", list(LISTS))
def test_lists_count_only_the_callers_scope(scene, as_user, url):
    users = [scene.admin, scene.a.vendor, scene.a.referent, scene.a.member, scene.a.other_member]
    for user, expected in zip(users, LISTS[url], strict=True):
        body = as_user(user).get(url.format(**ids(scene.a))).json()
        assert body["total"] == expected, (url, user.email, body)
        assert len(body["items"]) == expected


BODY_REFERENCES = [
    ("/api/v1/members", lambda t: {"community": t.community.pk, "email": "x@example.com"}, "community"),
    (
        "/api/v1/metering-points",
        lambda t: {"membership": t.membership.pk, "code": "IT001E77777777"},
        "membership",
    ),
    (
        "/api/v1/configurations",
        lambda t: {"community": t.community.pk, "name": "x", "valid_from": "2030-01-01"},
        "community",
    ),
    (
        "/api/v1/plants",
        lambda t: {
            "name": "x",
            "owner": t.member.pk,
            "community": t.community.pk,
            "location": {"lon": 16.87, "lat": 41.12},
            "capacity_kwp": "1",
        },
        "owner",
    ),
]


@pytest.mark.parametrize(("url", "make_body", "field"), BODY_REFERENCES)
@pytest.mark.parametrize("role", ROLES)
def test_it_treats_foreign_ids_in_a_body_as_missing(scene, as_user, url, make_body, field, role):
    before = snapshot()
    resp = as_user(getattr(scene.a, role)).post(url, make_body(scene.b), format="json")
    assert resp.status_code == 400, resp.content
    assert field in resp.json()["details"]
    assert "does not exist" in str(resp.json()["details"][field])
    assert snapshot() == before


@pytest.mark.parametrize("url", list(LISTS))
def test_it_refuses_anonymous_callers(scene, api, url):
    assert api.get(url.format(**ids(scene.a))).status_code == 401


@pytest.mark.parametrize("method", ["get", "delete"])
def test_it_does_not_reach_a_membership_through_another_communitys_url(scene, as_user, method):
    """/communities/{mine}/members/{theirs}: the membership is looked up inside the URL's community."""
    resp = call(
        as_user(scene.admin),
        method,
        f"/api/v1/communities/{scene.a.community.pk}/members/{scene.b.membership.pk}",
        None,
    )
    assert resp.status_code == 404
    assert Membership.objects.get(pk=scene.b.membership.pk).left_at is None
