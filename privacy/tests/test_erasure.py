"""Erasure: a member asks, a referent or admin who manages them confirms. Afterwards no
column of any table holds the person's name, email, fiscal code, address, IBAN or free text;
logins are revoked; the money and energy records stay and community totals do not move."""

import pytest
from django.db import connection
from django.db.models import Sum
from rest_framework.test import APIClient

from audit.models import AuditEvent
from conftest import PASSWORD
from privacy.models import ErasureRequest

pytestmark = pytest.mark.django_db

TEXT_TYPES = ("text", "character varying", "character", "json", "jsonb")


def tables_holding(values) -> dict[str, list[str]]:
    """Every (table.column) of every text or JSON column, in every schema the app uses,
    whose value contains one of `values` (case-insensitive)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.table_schema, c.table_name, c.column_name FROM information_schema.columns c "
            "JOIN information_schema.tables t USING (table_schema, table_name) "
            "WHERE t.table_type = 'BASE TABLE' AND c.data_type = ANY(%s) "
            "AND c.table_schema NOT IN ('pg_catalog', 'information_schema')", [list(TEXT_TYPES)])
        columns = cursor.fetchall()
        hits: dict[str, list[str]] = {}
        for schema, table, column in columns:
            for value in values:
                cursor.execute(f'SELECT 1 FROM "{schema}"."{table}" WHERE "{column}"::text ILIKE %s LIMIT 1',
                               [f"%{value}%"])
                if cursor.fetchone():
                    hits.setdefault(value, []).append(f"{table}.{column}")
    return hits


def _totals(world, person):
    from billing.models import Account, Leg
    from communities.models import Membership
    from iot.models import Reading

    return {
        "community_postings": Leg.objects.filter(posting__community=world.a.community).aggregate(
            s=Sum("amount"))["s"],
        "wallet": Account.objects.get(user=person.user, kind="member_wallet").balance,
        "readings": Reading.objects.filter(device__community=world.a.community).count()
        + Reading.objects.filter(device=person.device).count(),
        "members": Membership.objects.filter(community=world.a.community).count(),
    }


def _sessions(person):
    web = APIClient()
    assert web.login(email=person.user.email, password=PASSWORD)
    login = APIClient().post("/api/v1/auth/login", {"email": person.user.email, "password": PASSWORD},
                             format="json").json()
    return web, login


def test_an_erased_person_is_nowhere_in_the_database(world, as_user, person):
    from iot.models import DeadLetter

    values = list(person.ids.values())
    before = tables_holding(values)
    # The search finds them where they are (the test can fail): profile, ledger, logs...
    assert {"accounts_user.email", "billing_posting.reason", "django_admin_log.object_repr",
            "simulation_simulationrun.summary", "iot_deadletter.raw", "billing_payout.iban",
            "communities_membershipinvitation.email", "accounts_accountemail.email",
            "statements_statement.data", "statements_statementemail.email", "notifications_notification.body",
            "notifications_usersettings.phone_e164", "notifications_pushsubscription.endpoint",
            "market_offer.note"} <= {
        col for cols in before.values() for col in cols}
    assert DeadLetter.objects.filter(device=person.device).exists()
    totals = _totals(world, person)
    web, tokens = _sessions(person)

    asked = as_user(person.user).post("/api/v1/users/profile/erasure")
    assert asked.status_code == 202 and asked.json()["status"] == "pending"
    confirmed = as_user(world.a.referent).post(
        f"/api/v1/privacy/erasure-requests/{asked.json()['id']}/confirm")
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["status"] == "done"

    assert tables_holding(values) == {}
    assert _totals(world, person) == totals
    person.user.refresh_from_db()
    assert person.user.email == f"erased-{person.user.pk}@erased.invalid"
    assert not person.user.is_active and not person.user.has_usable_password()
    # Logged out everywhere: web session, refresh token, access token, password.
    assert web.get("/api/v1/users/profile").status_code in (401, 403)
    assert APIClient().post("/api/v1/auth/refresh-token", {"refresh": tokens["refresh"]},
                            format="json").status_code == 401
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert bearer.get("/api/v1/users/profile").status_code == 401
    assert APIClient().post("/api/v1/auth/login", {"email": person.ids["email"], "password": PASSWORD},
                            format="json").status_code == 401
    event = AuditEvent.objects.get(action="gdpr.erase")
    assert (event.actor_id, event.target_user_id) == (world.a.referent.pk, person.user.pk)


def test_other_people_are_untouched(world, as_user, person):
    other = world.a.other_member
    request = as_user(person.user).post("/api/v1/users/profile/erasure").json()
    as_user(world.admin).post(f"/api/v1/privacy/erasure-requests/{request['id']}/confirm")
    other.refresh_from_db()
    assert other.full_name == "Other a" and other.is_active
    assert tables_holding(["Other a"]) == {"Other a": ["accounts_user.full_name"]}


def test_only_staff_who_manage_the_person_confirm(world, as_user, person):
    request_id = as_user(person.user).post("/api/v1/users/profile/erasure").json()["id"]
    url = f"/api/v1/privacy/erasure-requests/{request_id}/confirm"
    assert as_user(world.b.referent).post(url).status_code == 404  # another tenant
    assert as_user(world.b.vendor).post(url).status_code == 404
    assert as_user(world.a.other_member).post(url).status_code == 404  # not staff
    assert as_user(person.user).post(url).status_code == 404  # not one's own
    assert as_user(world.b.referent).get("/api/v1/privacy/erasure-requests").json()["items"] == []
    listed = as_user(world.a.referent).get("/api/v1/privacy/erasure-requests").json()["items"]
    assert [r["id"] for r in listed] == [request_id]
    assert ErasureRequest.objects.get(pk=request_id).status == "pending"
    person.user.refresh_from_db()
    assert person.user.email == person.ids["email"]
    assert as_user(world.a.vendor).post(url).status_code == 200
    assert as_user(world.a.referent).post(url).status_code == 409


def test_a_person_may_cancel_and_staff_may_reject(world, as_user, person):
    member = as_user(person.user)
    first = member.post("/api/v1/users/profile/erasure").json()
    assert member.post("/api/v1/users/profile/erasure").json()["id"] == first["id"]  # one pending
    assert member.delete("/api/v1/users/profile/erasure").status_code == 204
    assert ErasureRequest.objects.get(pk=first["id"]).status == "cancelled"
    second = member.post("/api/v1/users/profile/erasure").json()
    rejected = as_user(world.a.referent).post(f"/api/v1/privacy/erasure-requests/{second['id']}/reject")
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert AuditEvent.objects.filter(action="gdpr.erase_reject", target_user=person.user).exists()
    person.user.refresh_from_db()
    assert person.user.is_active


def test_the_admin_action_confirms_through_the_service(world, client, person, as_user):
    request_id = as_user(person.user).post("/api/v1/users/profile/erasure").json()["id"]
    client.login(email=world.b.referent.email, password=PASSWORD)
    assert client.get("/admin/privacy/erasurerequest/").status_code == 200
    client.post("/admin/privacy/erasurerequest/", {"action": "confirm", "_selected_action": [request_id]})
    assert ErasureRequest.objects.get(pk=request_id).status == "pending"  # not in B's scope
    client.logout()
    client.login(email=world.a.referent.email, password=PASSWORD)
    client.post("/admin/privacy/erasurerequest/", {"action": "confirm", "_selected_action": [request_id]})
    assert ErasureRequest.objects.get(pk=request_id).status == "done"
    assert tables_holding([person.ids["email"], person.ids["name"]]) == {}
