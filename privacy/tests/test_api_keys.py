"""API keys: created by staff, hashed, shown once, scoped to their creator, expiring, revocable."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from conftest import PASSWORD
from privacy.models import ApiKey

pytestmark = pytest.mark.django_db


def _create(client, **body):
    response = client.post("/api/v1/api-keys", {"name": "integration", **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _keyed(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def test_it_shows_the_key_once_and_stores_only_its_hash(world, as_user):
    vendor = as_user(world.a.vendor)
    created = _create(vendor)
    prefix, secret = created["key"].split(".", 1)
    assert created["prefix"] == prefix and created["organization"] == world.a.organization.pk
    row = ApiKey.objects.get(pk=created["id"])
    assert secret not in row.secret_hash and row.secret_hash != secret
    listed = vendor.get("/api/v1/api-keys").json()["items"]
    assert [k["prefix"] for k in listed] == [prefix]
    assert "key" not in listed[0]
    assert AuditEvent.objects.filter(action="api_key.create", object_id=str(row.pk),
                                     actor=world.a.vendor).exists()


def test_a_vendor_key_sees_its_tenant_and_not_another(world, as_user):
    key = _create(as_user(world.a.vendor))["key"]
    client = _keyed(key)
    assert client.get(f"/api/v1/communities/{world.a.community.pk}").status_code == 200
    assert client.get(f"/api/v1/communities/{world.b.community.pk}").status_code == 404
    emails = {u["email"] for u in client.get("/api/v1/users").json()["items"]}
    assert world.a.member.email in emails and world.b.member.email not in emails
    assert ApiKey.objects.get(prefix=key.split(".")[0]).last_used_at is not None


def test_an_admin_key_is_narrowed_to_its_organization(world, as_user):
    admin = as_user(world.admin)
    assert admin.post("/api/v1/api-keys", {"name": "all"}, format="json").status_code == 400
    key = _create(admin, organization=world.a.organization.pk, access="read_write")["key"]
    client = _keyed(key)
    assert client.get(f"/api/v1/communities/{world.a.community.pk}").status_code == 200
    assert client.get(f"/api/v1/communities/{world.b.community.pk}").status_code == 404
    assert client.get(f"/api/v1/users/{world.b.member.pk}").status_code == 404
    assert client.get("/api/v1/audit").status_code == 403  # an admin's own powers stay with the admin
    # The narrowed identity is never written back onto the admin's account.
    world.admin.refresh_from_db()
    assert world.admin.role == "admin" and world.admin.organization_id is None


def test_a_referent_key_sees_only_the_referents_communities(world, as_user):
    key = _create(as_user(world.a.referent))["key"]
    client = _keyed(key)
    assert client.get(f"/api/v1/users/{world.a.member.pk}").status_code == 200
    assert client.get(f"/api/v1/users/{world.b.member.pk}").status_code == 404


def test_a_read_only_key_gets_403_on_writes_and_a_read_write_key_writes(world, as_user):
    vendor = as_user(world.a.vendor)
    read = _keyed(_create(vendor)["key"])
    response = read.patch(f"/api/v1/users/{world.a.member.pk}", {"full_name": "Changed"}, format="json")
    assert response.status_code == 403 and response.json()["error"] == "PermissionDenied"
    world.a.member.refresh_from_db()
    assert world.a.member.full_name == "Member a"
    write = _keyed(_create(vendor, access="read_write")["key"])
    response = write.patch(f"/api/v1/users/{world.a.member.pk}", {"full_name": "Changed"}, format="json")
    assert response.status_code == 200, response.content
    assert write.patch(f"/api/v1/users/{world.b.member.pk}", {"full_name": "X"},
                       format="json").status_code == 404


@pytest.mark.parametrize("state", ["expired", "revoked", "wrong_secret", "unknown_prefix",
                                   "creator_suspended", "creator_moved"])
def test_an_unusable_key_is_401(world, as_user, state):
    key = _create(as_user(world.a.vendor))["key"]
    row = ApiKey.objects.get(prefix=key.split(".")[0])
    if state == "expired":
        ApiKey.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif state == "revoked":
        assert as_user(world.a.vendor).delete(f"/api/v1/api-keys/{row.pk}").status_code == 200
    elif state == "wrong_secret":
        key = key + "x"
    elif state == "unknown_prefix":
        key = "ffffffff." + key.split(".", 1)[1]
    elif state == "creator_suspended":
        world.a.vendor.status, world.a.vendor.is_active = "suspended", False
        world.a.vendor.save()
    elif state == "creator_moved":
        world.a.vendor.organization = world.b.organization
        world.a.vendor.save()
    response = _keyed(key).get("/api/v1/users")
    assert response.status_code == 401
    assert response.json()["error"] == "AuthenticationFailed"


def test_only_staff_create_keys_within_their_own_scope(world, as_user):
    assert as_user(world.a.member).post("/api/v1/api-keys", {"name": "x"}, format="json").status_code == 403
    assert as_user(world.a.member).get("/api/v1/api-keys").status_code == 403
    response = as_user(world.a.vendor).post("/api/v1/api-keys",
                                            {"name": "x", "organization": world.b.organization.pk},
                                            format="json")
    assert response.status_code == 403
    response = as_user(world.a.referent).post("/api/v1/api-keys",
                                              {"name": "x", "organization": world.a.organization.pk},
                                              format="json")
    assert response.status_code == 403
    past = (timezone.now() - timedelta(days=1)).isoformat()
    response = as_user(world.a.vendor).post("/api/v1/api-keys", {"name": "x", "expires_at": past},
                                            format="json")
    assert response.status_code == 400 and "expires_at" in response.json()["details"]
    assert ApiKey.objects.count() == 0


def test_a_key_cannot_manage_keys(world, as_user):
    key = _create(as_user(world.a.vendor), access="read_write")["key"]
    client = _keyed(key)
    assert client.post("/api/v1/api-keys", {"name": "child"}, format="json").status_code == 403
    assert client.get("/api/v1/api-keys").status_code == 403
    assert ApiKey.objects.count() == 1


def test_another_tenant_cannot_revoke_a_key(world, as_user):
    key_id = _create(as_user(world.a.vendor))["id"]
    assert as_user(world.b.vendor).delete(f"/api/v1/api-keys/{key_id}").status_code == 404
    assert as_user(world.a.referent).delete(f"/api/v1/api-keys/{key_id}").status_code == 404
    assert ApiKey.objects.get(pk=key_id).revoked_at is None


def test_the_admin_creates_a_key_and_shows_it_once(world, client):
    client.login(email=world.a.vendor.email, password=PASSWORD)
    response = client.post("/admin/privacy/apikey/add/", {"name": "from admin", "access": "read"},
                           follow=True)
    assert response.status_code == 200
    row = ApiKey.objects.get(name="from admin")
    shown = [str(m) for m in response.context["messages"] if f"{row.prefix}." in str(m)]
    assert len(shown) == 1
    full = shown[0].rsplit(" ", 1)[-1]
    assert _keyed(full).get(f"/api/v1/communities/{world.a.community.pk}").status_code == 200
    assert row.organization_id == world.a.organization.pk and row.created_by_id == world.a.vendor.pk
    page = client.get(f"/admin/privacy/apikey/{row.pk}/change/")
    assert full.split(".", 1)[1] not in page.content.decode()
    client.post("/admin/privacy/apikey/", {"action": "revoke", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert row.revoked_at is not None
    assert _keyed(full).get("/api/v1/users").status_code == 401
