"""The back office driven as each role against users of higher roles and other tenants.

Issue 8, items 1 and 3: the admin's password form and change form enforce the API's rules
(`User.objects.managed_by`, the grant rules, self-protected fields), through the services.
"""

from datetime import date

import pytest
from allauth.account.models import EmailAddress

from accounts.models import User
from conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

NEW = "Brand-New-Secret-77"


def _login(client, user):
    response = client.post("/admin/login/?next=/admin/", {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return client


def _password_url(user) -> str:
    return f"/admin/accounts/user/{user.pk}/password/"


def _change_url(user) -> str:
    return f"/admin/accounts/user/{user.pk}/change/"


def _set_password(client, user):
    return client.post(_password_url(user), {"password1": NEW, "password2": NEW,
                                              "usable_password": "true"})


@pytest.fixture
def above(world):
    """Users above vendor A / referent A, yet visible to them: an admin of org A, a superuser
    who is a member of community A, B's referent who also runs community A, and B's member
    who also joined community A."""
    from communities.models import Membership

    boss = make_user("boss@example.com", "admin", organization=world.a.organization)
    root = make_user("root@example.com", is_superuser=True)
    Membership.objects.create(user=root, community=world.a.community, joined_at=date(2025, 1, 1))
    world.a.community.referents.add(world.b.referent)
    Membership.objects.create(user=world.b.member, community=world.a.community,
                              joined_at=date(2025, 1, 1))
    return {"admin": boss, "superuser": root, "foreign_staff": world.b.referent,
            "foreign_member": world.b.member}


def _form_data(page) -> dict:
    form = page.context["adminform"].form
    data = {name: form.initial.get(name) for name in form.fields}
    data = {k: ("" if v is None else v) for k, v in data.items() if not isinstance(v, list | dict)}
    data["preferences"] = "{}"
    return data


@pytest.mark.parametrize("target", ["admin", "superuser", "foreign_staff"])
def test_a_vendor_cannot_set_the_password_of_users_above_or_elsewhere(client, world, above, target):
    victim = above[target]
    _login(client, world.a.vendor)
    assert User.objects.visible_to(world.a.vendor).filter(pk=victim.pk).exists()  # the premise
    assert client.get(_password_url(victim)).status_code == 403
    assert _set_password(client, victim).status_code == 403
    victim.refresh_from_db()
    assert victim.check_password(PASSWORD) and not victim.check_password(NEW)


@pytest.mark.parametrize("target", ["superuser", "foreign_member"])
def test_a_referent_cannot_set_the_password_of_users_above_or_elsewhere(client, world, above, target):
    victim = above[target]
    _login(client, world.a.referent)
    assert User.objects.visible_to(world.a.referent).filter(pk=victim.pk).exists()
    assert _set_password(client, victim).status_code == 403
    victim.refresh_from_db()
    assert victim.check_password(PASSWORD)


def test_the_password_form_of_someone_out_of_scope_is_not_found(client, world):
    _login(client, world.a.vendor)
    assert client.get(_password_url(world.admin)).status_code == 404
    assert client.get(_password_url(world.b.vendor)).status_code == 404


def test_staff_do_not_set_their_own_password_without_the_current_one(client, world):
    _login(client, world.a.referent)
    assert _set_password(client, world.a.referent).status_code == 403


def test_a_vendor_sets_the_password_of_a_member_they_manage_and_it_revokes_tokens(client, api, world):
    refresh = api.post("/api/v1/auth/login", {"email": world.a.member.email, "password": PASSWORD},
                       format="json").json()["refresh"]
    _login(client, world.a.vendor)
    assert _set_password(client, world.a.member).status_code == 302
    world.a.member.refresh_from_db()
    assert world.a.member.check_password(NEW)
    assert api.post("/api/v1/auth/refresh-token", {"refresh": refresh}, format="json").status_code == 401


def test_an_admin_sets_the_password_of_a_superuser(client, world, above):
    _login(client, world.admin)
    assert _set_password(client, above["superuser"]).status_code == 302
    above["superuser"].refresh_from_db()
    assert above["superuser"].check_password(NEW)


@pytest.mark.parametrize("target", ["admin", "superuser", "foreign_staff", "foreign_member"])
def test_a_vendor_cannot_change_users_above_or_elsewhere(client, world, above, target):
    victim = above[target]
    _login(client, world.a.vendor)
    page = client.get(_change_url(victim))
    assert page.status_code == 200  # visible, so read-only
    assert "email" not in page.context["adminform"].form.fields
    response = client.post(_change_url(victim), {
        "email": "attacker@example.com", "username": victim.username, "full_name": "x",
        "status": "suspended", "is_verified": "", "is_active": "", "member_type": "consumer",
        "user_type": "real", "preferences": "{}",
    })
    assert response.status_code == 403
    victim.refresh_from_db()
    assert victim.email != "attacker@example.com" and victim.status == "active" and victim.is_active


def test_the_change_form_does_not_offer_admin_only_fields_to_a_vendor(client, world):
    _login(client, world.a.vendor)
    fields = client.get(_change_url(world.a.member)).context["adminform"].form.fields
    for name in ("role", "organization", "is_superuser", "is_verified", "is_active", "groups"):
        assert name not in fields


def test_an_email_change_in_the_admin_resets_verification_and_allauths_address(client, world):
    from accounts.services import email_address_sync

    email_address_sync(user=world.a.member)
    _login(client, world.a.vendor)
    page = client.get(_change_url(world.a.member))
    data = {**_form_data(page), "email": "moved@example.com"}
    response = client.post(_change_url(world.a.member), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    world.a.member.refresh_from_db()
    assert world.a.member.email == "moved@example.com" and not world.a.member.is_verified
    assert list(EmailAddress.objects.filter(user=world.a.member).values_list("email", "verified")) == [
        ("moved@example.com", False)]


def test_staff_cannot_change_their_own_protected_fields_in_the_admin(client, world):
    _login(client, world.a.vendor)
    page = client.get(_change_url(world.a.vendor))
    data = {**_form_data(page), "email": "me-elsewhere@example.com"}
    response = client.post(_change_url(world.a.vendor), data)
    assert response.status_code == 200  # the form again, with the service's refusal
    assert "You may not change your own email" in str(response.context["adminform"].form.errors)
    world.a.vendor.refresh_from_db()
    assert world.a.vendor.email == "vendor-a@example.com"


def test_a_referent_suspends_a_member_through_the_service(client, api, world):
    refresh = api.post("/api/v1/auth/login", {"email": world.a.member.email, "password": PASSWORD},
                       format="json").json()["refresh"]
    _login(client, world.a.referent)
    page = client.get(_change_url(world.a.member))
    response = client.post(_change_url(world.a.member), {**_form_data(page), "status": "suspended"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    world.a.member.refresh_from_db()
    assert world.a.member.status == "suspended" and not world.a.member.is_active
    assert api.post("/api/v1/auth/refresh-token", {"refresh": refresh}, format="json").status_code == 401


def test_the_api_answers_403_for_a_visible_user_the_caller_does_not_manage(as_user, world, above):
    for target in ("foreign_staff", "foreign_member"):
        response = as_user(world.a.vendor).patch(f"/api/v1/users/{above[target].pk}",
                                                 {"email": "attacker@example.com"}, format="json")
        assert response.status_code == 403, response.json()
    response = as_user(world.a.vendor).patch(f"/api/v1/users/{above['admin'].pk}",
                                             {"full_name": "x"}, format="json")
    assert response.status_code == 403


def test_an_admin_changes_a_superuser_in_the_admin(client, world, above):
    _login(client, world.admin)
    page = client.get(_change_url(above["superuser"]))
    data = {**_form_data(page), "full_name": "Root renamed"}
    response = client.post(_change_url(above["superuser"]), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    above["superuser"].refresh_from_db()
    assert above["superuser"].full_name == "Root renamed" and above["superuser"].is_superuser
