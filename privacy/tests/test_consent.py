"""Consent: the policy version in force must be accepted (API 403 ConsentRequired until then),
at sign-up and after every change; withdrawal keeps the person's rights reachable."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.testing import deliver_account_emails
from conftest import PASSWORD
from privacy.models import Consent, PolicyVersion

pytestmark = pytest.mark.django_db


def _publish(version: str, **extra) -> PolicyVersion:
    effective_at = extra.pop("effective_at", timezone.now())
    return PolicyVersion.objects.create(version=version, effective_at=effective_at,
                                        url="https://example.com/privacy", **extra)


def test_without_a_published_policy_nothing_is_asked(world, as_user):
    assert as_user(world.a.member).get("/api/v1/users").status_code == 200
    state = as_user(world.a.member).get("/api/v1/users/profile/consent").json()
    assert state["current_version"] is None and state["required"] is False


def test_the_api_asks_for_consent_until_the_version_in_force_is_accepted(world, as_user):
    member = as_user(world.a.member)
    assert member.get("/api/v1/users").status_code == 200  # caches "no policy yet"
    _publish("2026-01")
    response = member.get("/api/v1/users")
    assert response.status_code == 403
    assert response.json()["error"] == "ConsentRequired"
    assert response.json()["details"] == {"policy_version": "2026-01"}
    assert member.get("/api/v1/users/profile/consent").json()["required"] is True
    wrong = member.post("/api/v1/users/profile/consent", {"version": "2025-01"}, format="json")
    assert wrong.status_code == 400 and wrong.json()["error"] == "ConsentVersionMismatch"
    accepted = member.post("/api/v1/users/profile/consent", {"version": "2026-01"}, format="json")
    assert accepted.status_code == 200
    assert accepted.json()["accepted_version"] == "2026-01" and accepted.json()["required"] is False
    assert member.get("/api/v1/users").status_code == 200
    # Accepting twice keeps one live acceptance.
    member.post("/api/v1/users/profile/consent", {"version": "2026-01"}, format="json")
    assert Consent.objects.filter(user=world.a.member, withdrawn_at__isnull=True).count() == 1


def test_a_new_version_must_be_accepted_again_once_in_force(world, as_user):
    member = as_user(world.a.member)
    _publish("2026-01")
    member.post("/api/v1/users/profile/consent", {"version": "2026-01"}, format="json")
    _publish("2026-06", effective_at=timezone.now() + timedelta(days=30))
    assert member.get("/api/v1/users").status_code == 200  # not in force yet
    PolicyVersion.objects.filter(version="2026-06").update(effective_at=timezone.now())
    _publish("2026-07", effective_at=timezone.now() + timedelta(days=60))  # clears the cache
    assert member.get("/api/v1/users").json()["details"] == {"policy_version": "2026-06"}
    member.post("/api/v1/users/profile/consent", {"version": "2026-06"}, format="json")
    assert member.get("/api/v1/users").status_code == 200
    history = Consent.objects.filter(user=world.a.member).values_list("policy__version", flat=True)
    assert sorted(history) == ["2026-01", "2026-06"]


def test_withdrawing_blocks_the_api_but_not_the_persons_rights(world, as_user):
    member = as_user(world.a.member)
    _publish("2026-01")
    member.post("/api/v1/users/profile/consent", {"version": "2026-01"}, format="json")
    response = member.delete("/api/v1/users/profile/consent")
    assert response.status_code == 200 and response.json()["accepted_version"] is None
    assert Consent.objects.get(user=world.a.member).withdrawn_at is not None
    assert member.get("/api/v1/users").status_code == 403
    assert member.post("/api/v1/users/profile/erasure").status_code == 202
    assert member.get("/api/v1/users/profile/consent").status_code == 200


def test_anonymous_callers_get_401_not_403(world, api):
    _publish("2026-01")
    assert api.get("/api/v1/users").status_code == 401


def test_sign_up_records_the_accepted_version(api, db):
    _publish("2026-01")
    refused = api.post("/api/v1/auth/register", {"email": "new@example.com", "password": PASSWORD},
                       format="json")
    assert refused.status_code == 400 and refused.json()["error"] == "ConsentRequired"
    response = api.post("/api/v1/auth/register", {"email": "new@example.com", "password": PASSWORD,
                                                  "privacy_policy_version": "2026-01"}, format="json")
    assert response.status_code == 202
    deliver_account_emails()
    consent = Consent.objects.get(user__email="new@example.com")
    assert consent.policy.version == "2026-01" and consent.withdrawn_at is None


def test_the_admin_publishes_versions_and_shows_consents_read_only(world, client):
    client.login(email=world.admin.email, password=PASSWORD)
    response = client.post("/admin/privacy/policyversion/add/", {
        "version": "2026-02", "url": "https://example.com/p", "summary": "Retention periods",
        "effective_at_0": timezone.now().strftime("%Y-%m-%d"), "effective_at_1": "00:00:00"})
    assert response.status_code == 302, response.content
    assert PolicyVersion.objects.filter(version="2026-02").exists()
    assert client.get("/admin/privacy/consent/").status_code == 200
    assert client.get("/admin/privacy/consent/add/").status_code == 403
    client.logout()
    client.login(email=world.a.vendor.email, password=PASSWORD)
    assert client.get("/admin/privacy/policyversion/").status_code == 403
