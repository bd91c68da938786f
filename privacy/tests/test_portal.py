"""The portal side: the privacy page, the profile's export button, the consent redirect,
erasure asked and decided in the portal (all through the same services as the API)."""

import pytest
from django.test import Client
from django.utils import timezone

from privacy.models import ErasureRequest, ExportJob, PolicyVersion

pytestmark = pytest.mark.django_db


def _client(user, language="en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def test_the_profile_page_starts_an_export(world):
    client = _client(world.a.member)
    page = client.get("/profile/").content.decode()
    assert 'action="/privacy/export/"' in page and 'data-testid="export-data"' in page
    response = client.post("/privacy/export/", follow=True)
    assert response.status_code == 200
    assert ExportJob.objects.get().subject == world.a.member
    assert "we will email you a download link" in response.content.decode()
    again = client.post("/privacy/export/", follow=True).content.decode()
    assert "already being prepared" in again and ExportJob.objects.count() == 1


def test_a_person_without_consent_is_sent_to_accept_then_back(world):
    PolicyVersion.objects.create(version="2026-01", effective_at=timezone.now(), summary="What changed")
    client = _client(world.a.member)
    response = client.get("/profile/")
    assert response.status_code == 302 and response["Location"] == "/privacy/?next=%2Fprofile%2F"
    page = client.get(response["Location"]).content.decode()
    assert "2026-01" in page and 'data-testid="accept-policy"' in page
    accepted = client.post("/privacy/consent/", {"version": "2026-01", "next": "/profile/"})
    assert accepted.status_code == 302 and accepted["Location"] == "/profile/"
    assert client.get("/profile/").status_code == 200
    # An open redirect is not offered.
    client.post("/privacy/consent/withdraw/")
    assert client.post("/privacy/consent/", {"version": "2026-01", "next": "//evil.example"})["Location"] == (
        "/privacy/")


def test_erasure_is_asked_and_decided_in_the_portal(world):
    member = _client(world.a.member)
    member.post("/privacy/erasure/")
    request = ErasureRequest.objects.get(subject=world.a.member, status="pending")
    assert "Cancel my request" in member.get("/privacy/").content.decode()
    outsider = _client(world.b.referent)
    assert world.a.member.email not in outsider.get("/privacy/").content.decode()
    outsider.post(f"/privacy/erasure-requests/{request.pk}/", {"decision": "confirm"})
    request.refresh_from_db()
    assert request.status == "pending"
    referent = _client(world.a.referent)
    assert str(world.a.member) in referent.get("/privacy/").content.decode()
    referent.post(f"/privacy/erasure-requests/{request.pk}/", {"decision": "confirm"})
    request.refresh_from_db()
    assert request.status == "done"
    world.a.member.refresh_from_db()
    assert not world.a.member.is_active


def test_the_privacy_page_speaks_italian(world):
    PolicyVersion.objects.create(version="2026-01", effective_at=timezone.now())
    page = _client(world.a.member, "it").get("/privacy/").content.decode()
    assert "Accetto l&#x27;informativa sulla privacy" in page or "Accetto l'informativa sulla privacy" in page
    assert "Esporta i miei dati" in page
