"""The tenancy matrix, as HTML and as JSON (issue 8, item 4).

Every list/create endpoint of communities and plants is fetched by each role of tenant A,
through DRF's browsable renderer (its POST forms and filter panels list the choices of every
related field) and as JSON: nothing of tenant B (emails, names, PODs, organization) may
appear. Foreign-key filters answer another tenant's id exactly like a missing id. Outside
DEBUG there is no HTML renderer at all.
"""

import pytest
from django.test import override_settings

from communities.models import Membership, MeteringPoint
from communities.tests.test_tenancy_matrix import MISSING, ROLES, scene  # noqa: F401 (fixture)

LIST_CREATE = [
    "/api/v1/communities",
    "/api/v1/members",
    "/api/v1/metering-points",
    "/api/v1/configurations",
    "/api/v1/transactions",
    "/api/v1/plants",
    "/api/v1/communities/{community}/members",
    "/api/v1/communities/{community}/transactions",
]


def secrets_of(tenant, admin) -> list[str]:
    """Strings that identify tenant `tenant`'s people and things (and the platform admin)."""
    users = [tenant.vendor, tenant.referent, tenant.member, tenant.other_member, admin]
    codes = MeteringPoint.objects.filter(membership__community=tenant.community).values_list(
        "code", flat=True)
    return [
        *[u.email for u in users],
        *[u.full_name for u in users if u.full_name],
        tenant.organization.name,
        tenant.community.name,
        tenant.plant.name,
        *codes,
    ]


def leaks(body: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s in body]


@override_settings(DEBUG=True)
@pytest.mark.parametrize("url", LIST_CREATE)
@pytest.mark.parametrize(("role", "how"), [(r, "format") for r in ROLES] + [("vendor", "accept")])
def test_the_browsable_api_shows_nothing_of_another_tenant(scene, as_user, url, role, how):  # noqa: F811
    client = as_user(getattr(scene.a, role))
    path = url.format(community=scene.a.community.pk)
    if how == "format":
        resp = client.get(path, {"format": "api"})
    else:
        resp = client.get(path, HTTP_ACCEPT="text/html")
    assert resp.status_code == 200, resp.content[:500]
    assert resp["Content-Type"].startswith("text/html")
    html = resp.content.decode()
    assert "<form" in html or role in ("member", "other_member")
    assert leaks(html, secrets_of(scene.b, scene.admin)) == []


@pytest.mark.parametrize("url", LIST_CREATE)
@pytest.mark.parametrize("role", ROLES)
def test_the_json_lists_show_nothing_of_another_tenant(scene, as_user, url, role):  # noqa: F811
    resp = as_user(getattr(scene.a, role)).get(url.format(community=scene.a.community.pk))
    assert resp.status_code == 200
    assert leaks(resp.content.decode(), secrets_of(scene.b, scene.admin)) == []


def test_an_own_form_still_offers_the_callers_own_choices(scene, as_user):  # noqa: F811
    """The scoping narrows, it does not empty: a vendor's member form lists their members."""
    with override_settings(DEBUG=True):
        html = as_user(scene.a.vendor).get("/api/v1/members", {"format": "api"}).content.decode()
    assert scene.a.member.email in html or str(scene.a.member) in html


@pytest.mark.parametrize("role", ROLES)
def test_without_debug_there_is_no_html_renderer(scene, as_user, role):  # noqa: F811
    client = as_user(getattr(scene.a, role))
    with override_settings(DEBUG=False):
        by_format = client.get("/api/v1/members", {"format": "api"})
        by_accept = client.get("/api/v1/members", HTTP_ACCEPT="text/html")
        plants = client.get("/api/v1/plants", {"format": "api"})
    assert by_format.status_code == 404
    assert plants.status_code == 404
    assert by_accept.status_code == 406
    for resp in (by_format, by_accept, plants):
        assert not resp["Content-Type"].startswith("text/html")
        assert leaks(resp.content.decode(), secrets_of(scene.b, scene.admin)) == []


def _foreign_ids(t):
    other = Membership.objects.filter(community=t.community).exclude(pk=t.membership.pk).first()
    return {
        "community": t.community.pk,
        "organization": t.organization.pk,
        "user": t.member.pk,
        "membership": t.membership.pk,
        "from_membership": t.membership.pk,
        "to_membership": other.pk,
        "owner": t.member.pk,
        "metering_point": MeteringPoint.objects.filter(membership__community=t.community).first().pk,
    }


FK_FILTERS = [
    ("/api/v1/communities", "organization"),
    ("/api/v1/members", "community"),
    ("/api/v1/members", "user"),
    ("/api/v1/metering-points", "membership"),
    ("/api/v1/configurations", "community"),
    ("/api/v1/transactions", "community"),
    ("/api/v1/transactions", "from_membership"),
    ("/api/v1/transactions", "to_membership"),
    ("/api/v1/plants", "community"),
    ("/api/v1/plants", "owner"),
    ("/api/v1/plants", "metering_point"),
    ("/api/v1/communities/{community}/members", "user"),
    ("/api/v1/communities/{community}/transactions", "from_membership"),
]


@pytest.mark.parametrize(("url", "name"), FK_FILTERS)
@pytest.mark.parametrize("role", ROLES)
def test_a_filter_on_another_tenants_id_answers_like_a_missing_id(scene, as_user, url, name, role):  # noqa: F811
    client = as_user(getattr(scene.a, role))
    path = url.format(community=scene.a.community.pk)
    foreign = client.get(path, {name: _foreign_ids(scene.b)[name]})
    missing = client.get(path, {name: MISSING})
    assert foreign.status_code == missing.status_code == 400, (foreign.content, missing.content)
    assert foreign.json()["details"].keys() == missing.json()["details"].keys() == {name}
    assert leaks(foreign.content.decode(), secrets_of(scene.b, scene.admin)) == []


def test_a_filter_on_an_own_id_still_filters(scene, as_user):  # noqa: F811
    resp = as_user(scene.a.vendor).get("/api/v1/members", {"user": scene.a.member.pk})
    assert resp.status_code == 200
    assert [m["user"] for m in resp.json()["items"]] == [scene.a.member.pk]
