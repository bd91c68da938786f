"""POST /api/v1/auth/google: ID tokens signed by a local key whose certificate is served on
loopback (GOOGLE_CERTS_URL), verified by google-auth."""

import time

import pytest
from allauth.socialaccount.models import SocialAccount
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone

from accounts.models import User
from conftest import PASSWORD, make_user
from privacy.models import Consent, PolicyVersion
from privacy.tests.google_idp import CLIENT_ID, LocalIdp

pytestmark = pytest.mark.django_db
URL = "/api/v1/auth/google"


@pytest.fixture
def idp(settings):
    server = LocalIdp()
    settings.GOOGLE_CLIENT_ID = CLIENT_ID
    settings.GOOGLE_CERTS_URL = server.url
    yield server
    server.close()


def test_it_creates_a_verified_account_and_answers_a_token_pair(api, idp):
    response = api.post(URL, {"id_token": idp.token()}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    user = User.objects.get(email="gina@example.com")
    assert body["user"]["id"] == user.pk and body["access"] and body["refresh"]
    assert user.is_verified and not user.has_usable_password() and user.full_name == "Gina Google"
    assert SocialAccount.objects.get(provider="google", uid="1234567890").user == user
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert api.get("/api/v1/users/profile").json()["email"] == "gina@example.com"
    # The same Google account signs in the same user, whatever its email says now.
    again = api.post(URL, {"id_token": idp.token(email="renamed@example.com")}, format="json")
    assert again.json()["user"]["id"] == user.pk and User.objects.count() == 1


def test_it_links_an_existing_account_through_a_verified_email(api, idp, world):
    response = api.post(URL, {"id_token": idp.token(email=world.a.member.email, sub="777")}, format="json")
    assert response.status_code == 200
    assert response.json()["user"]["id"] == world.a.member.pk
    assert SocialAccount.objects.get(uid="777").user_id == world.a.member.pk
    world.a.member.refresh_from_db()
    assert world.a.member.check_password(PASSWORD)  # a verified owner keeps their password


def test_it_refuses_to_link_or_create_on_an_unverified_email(api, idp, world):
    for email in (world.a.member.email, "nobody@example.com"):
        response = api.post(URL, {"id_token": idp.token(email=email, email_verified=False, sub="888")},
                            format="json")
        assert response.status_code == 403
        assert response.json()["error"] == "GoogleEmailNotVerified"
    assert not SocialAccount.objects.exists()
    assert not User.objects.filter(email="nobody@example.com").exists()


def test_linking_an_unverified_account_drops_the_squatters_password(api, idp, db):
    squatter = make_user("victim@example.com")
    User.objects.filter(pk=squatter.pk).update(is_verified=False)
    response = api.post(URL, {"id_token": idp.token(email="victim@example.com")}, format="json")
    assert response.status_code == 200
    squatter.refresh_from_db()
    assert squatter.is_verified and not squatter.has_usable_password()
    login = api.post("/api/v1/auth/login", {"email": "victim@example.com", "password": PASSWORD},
                     format="json")
    assert login.status_code == 401


@pytest.mark.parametrize("case", ["audience", "issuer", "expired", "other_key", "garbage", "no_sub"])
def test_it_refuses_a_bad_token_with_401(api, idp, case):
    now = int(time.time())
    token = {
        "audience": lambda: idp.token(aud="someone-else.apps.googleusercontent.com"),
        "issuer": lambda: idp.token(iss="https://evil.example.com"),
        "expired": lambda: idp.token(iat=now - 7200, exp=now - 3600),
        "other_key": lambda: idp.token(key=rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "garbage": lambda: "not.a.token",
        "no_sub": lambda: idp.token(sub=""),
    }[case]()
    response = api.post(URL, {"id_token": token}, format="json")
    assert response.status_code == 401, response.content
    assert response.json()["error"] == "InvalidGoogleToken"
    assert not User.objects.exists()


def test_it_refuses_a_suspended_account(api, idp, world):
    world.a.member.status, world.a.member.is_active = "suspended", False
    world.a.member.save()
    response = api.post(URL, {"id_token": idp.token(email=world.a.member.email)}, format="json")
    assert response.status_code == 403 and response.json()["error"] == "AccountDisabled"


def test_a_new_account_accepts_the_policy_in_force(api, idp):
    PolicyVersion.objects.create(version="2026-01", effective_at=timezone.now())
    response = api.post(URL, {"id_token": idp.token()}, format="json")
    assert response.status_code == 400 and response.json()["error"] == "ConsentRequired"
    assert not User.objects.exists()
    response = api.post(URL, {"id_token": idp.token(), "privacy_policy_version": "2026-01"}, format="json")
    assert response.status_code == 200
    assert Consent.objects.get(user__email="gina@example.com").policy.version == "2026-01"


def test_it_is_off_without_a_client_id(api, idp, settings):
    settings.GOOGLE_CLIENT_ID = ""
    response = api.post(URL, {"id_token": idp.token()}, format="json")
    assert response.status_code == 400 and response.json()["error"] == "GoogleSignInDisabled"


def test_it_validates_the_body(api, idp):
    response = api.post(URL, {}, format="json")
    assert response.status_code == 400 and "id_token" in response.json()["details"]
