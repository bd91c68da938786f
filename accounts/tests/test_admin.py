"""The back office through a real login: scoped lists, role-based permissions."""

import pytest

from accounts.models import User
from conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _admin_login(client, user):
    response = client.post("/admin/login/?next=/admin/", {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return client


def _listed(response) -> set[str]:
    return {u.email for u in response.context["cl"].result_list}


def test_a_referent_sees_only_their_scope(client, world):
    _admin_login(client, world.a.referent)
    response = client.get("/admin/accounts/user/")
    assert response.status_code == 200
    assert _listed(response) == {"referent-a@example.com", "member-a@example.com", "other-a@example.com"}
    assert client.get(f"/admin/accounts/user/{world.b.member.id}/change/").status_code == 302
    assert client.get(f"/admin/accounts/user/{world.a.member.id}/change/").status_code == 200


def test_a_vendor_sees_their_organization_only(client, world):
    _admin_login(client, world.a.vendor)
    assert _listed(client.get("/admin/accounts/user/")) == {
        "vendor-a@example.com", "referent-a@example.com", "member-a@example.com", "other-a@example.com"}
    orgs = client.get("/admin/accounts/organization/")
    assert [o.slug for o in orgs.context["cl"].result_list] == ["org-a"]


def test_only_admins_delete_users(client, world):
    _admin_login(client, world.a.vendor)
    assert client.get(f"/admin/accounts/user/{world.a.member.id}/delete/").status_code == 403
    client.logout()
    _admin_login(client, world.admin)
    assert client.get(f"/admin/accounts/user/{world.a.other_member.id}/delete/").status_code == 200


def test_a_referent_cannot_escalate_through_the_admin(client, world):
    _admin_login(client, world.a.referent)
    page = client.get(f"/admin/accounts/user/{world.a.member.id}/change/")
    assert "role" not in page.context["adminform"].form.fields
    assert "is_superuser" not in page.context["adminform"].form.fields


def test_members_cannot_enter_the_admin(client, world):
    response = client.post("/admin/login/?next=/admin/", {"username": world.a.member.email,
                                                          "password": PASSWORD})
    assert response.status_code == 200  # form error: not a staff account
    assert client.get("/admin/accounts/user/").status_code == 302


def test_admin_searches_and_filters_users(client, world):
    _admin_login(client, world.admin)
    assert _listed(client.get("/admin/accounts/user/", {"q": "member-b"})) == {"member-b@example.com"}
    assert _listed(client.get("/admin/accounts/user/", {"role__exact": "vendor"})) == {
        "vendor-a@example.com", "vendor-b@example.com"}
    assert _listed(client.get("/admin/accounts/user/", {"member_type__exact": "prosumer"})) == {
        "member-a@example.com", "member-b@example.com"}
    for param in ("user_type__exact=real", "status__exact=active"):
        assert client.get(f"/admin/accounts/user/?{param}").status_code == 200


def test_a_referent_changes_a_member_in_scope(client, world):
    _admin_login(client, world.a.referent)
    url = f"/admin/accounts/user/{world.a.member.id}/change/"
    form = client.get(url).context["adminform"].form
    data = {name: form.initial.get(name) for name in form.fields}
    data = {k: ("" if v is None else v) for k, v in data.items() if not isinstance(v, list | dict)}
    data.update(full_name="Renamed by referent", preferences="{}", status="suspended", is_active="on",
                is_verified="on")
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    world.a.member.refresh_from_db()
    assert world.a.member.full_name == "Renamed by referent" and world.a.member.role == "user"
    assert world.a.member.status == "suspended" and not world.a.member.is_active


def test_only_admins_add_users_in_the_admin(client, world):
    _admin_login(client, world.a.vendor)
    assert client.get("/admin/accounts/user/add/").status_code == 403
    client.logout()
    _admin_login(client, world.admin)
    response = client.post("/admin/accounts/user/add/", {
        "email": "added@example.com", "username": "added", "full_name": "Added", "role": "user",
        "member_type": "consumer", "user_type": "real", "password1": PASSWORD, "password2": PASSWORD,
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert User.objects.get(email="added@example.com").check_password(PASSWORD)


def test_list_filters_do_not_name_other_tenants(client, world):
    _admin_login(client, world.a.vendor)
    page = client.get("/admin/accounts/user/").content.decode()
    assert "Org a" in page and "Org b" not in page
    client.logout()
    _admin_login(client, world.admin)
    page = client.get("/admin/accounts/user/").content.decode()
    assert "Org a" in page and "Org b" in page
