import pytest
from django.db import DatabaseError, transaction

from audit.models import AuditEvent
from conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _events(client, **params):
    response = client.get("/api/v1/audit", params)
    assert response.status_code == 200, response.content
    return response.json()["items"]


def test_it_records_a_staff_suspension_with_field_names_only(world, as_user):
    referent = as_user(world.a.referent)
    response = referent.patch(f"/api/v1/users/{world.a.member.pk}", {"status": "suspended"},
                              format="json", HTTP_X_REQUEST_ID="req-audit-1")
    assert response.status_code == 200, response.content
    [event] = _events(as_user(world.admin), target_user=world.a.member.pk)
    assert event["action"] == "user.suspend"
    assert event["actor"] == world.a.referent.pk
    assert event["object_type"] == "accounts.user"
    assert event["object_id"] == str(world.a.member.pk)
    assert event["request_id"] == "req-audit-1"
    assert event["detail"] == {"fields": ["status"]}


def test_it_records_a_user_created_by_staff(world, as_user):
    vendor = as_user(world.a.vendor)
    assert vendor.post("/api/v1/users", {"email": "new-a@example.com", "full_name": "New A",
                                         "community": world.a.community.pk},
                       format="json").status_code == 201
    actions = [e["action"] for e in _events(as_user(world.admin), actor=world.a.vendor.pk)]
    assert actions == ["user.create"]


def test_it_records_a_membership_invitation(world, as_user):
    referent = as_user(world.a.referent)
    response = referent.post(f"/api/v1/communities/{world.a.community.pk}/members",
                             {"email": "invitee@example.com"}, format="json")
    assert response.status_code == 202, response.content
    assert "membership.invite" in [e["action"] for e in _events(as_user(world.admin))]


@pytest.mark.parametrize("who", ["member", "referent", "vendor"])
def test_it_is_for_admins_only(world, as_user, who):
    response = as_user(getattr(world.a, who)).get("/api/v1/audit")
    assert response.status_code == 403
    assert response.json()["error"] == "PermissionDenied"


def test_it_needs_authentication(world, api):
    assert api.get("/api/v1/audit").status_code == 401


def test_it_validates_filters(world, as_user):
    response = as_user(world.admin).get("/api/v1/audit", {"target_user": "x"})
    assert response.status_code == 400


def test_the_database_refuses_update_and_delete(world):
    import audit

    event = audit.record(actor=world.admin, action="test.event", obj=world.a.member,
                         target_user=world.a.member)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="changed")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"


def test_the_admin_shows_it_read_only_to_admins_only(world, client):
    import audit

    event = audit.record(actor=world.admin, action="test.event", target_user=world.a.member)
    client.login(email=world.admin.email, password=PASSWORD)
    assert client.get("/admin/audit/auditevent/").status_code == 200
    page = client.get(f"/admin/audit/auditevent/{event.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert client.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    client.logout()
    client.login(email=world.a.vendor.email, password=PASSWORD)
    assert client.get("/admin/audit/auditevent/").status_code == 403
