"""The allauth web flows and the admin login, including the lockout on both."""

import re

import pytest
from django.core import mail
from django.test import override_settings

from accounts.models import User
from accounts.testing import deliver_account_emails
from conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def _link(message) -> str:
    return re.search(r"https?://[^/\s]+(/\S+)", message.body).group(1)


def _login(client, email, password=PASSWORD):
    return client.post("/accounts/login/", {"login": email, "password": password})


def test_it_signs_up_confirms_the_email_and_logs_in(client):
    response = client.post("/accounts/signup/", {"email": "web@example.com", "password1": PASSWORD,
                                                 "password2": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    user = User.objects.get(email="web@example.com")
    assert not user.is_verified and user.role == "user"
    # Mandatory verification: no session until the email is confirmed.
    assert client.get("/").status_code == 302
    deliver_account_emails()
    confirm = _link(mail.outbox[0])
    assert client.get(confirm).status_code == 200
    assert client.post(confirm).status_code == 302
    user.refresh_from_db()
    assert user.is_verified
    assert _login(client, "web@example.com").status_code == 302
    dashboard = client.get("/")
    assert dashboard.status_code == 200 and b"Welcome" in dashboard.content


def test_signup_refuses_a_common_password(client):
    response = client.post("/accounts/signup/", {"email": "w@example.com", "password1": "password",
                                                 "password2": "password"})
    assert response.status_code == 200
    assert b"too common" in response.content
    assert not User.objects.filter(email="w@example.com").exists()


def test_it_logs_in_a_user_verified_elsewhere_and_logs_out(client):
    make_user("ok@example.com")  # verified through the API / admin, no allauth row yet
    response = _login(client, "OK@example.com")
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/profile/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/profile/").status_code == 302


def test_it_refuses_a_wrong_password(client):
    make_user("ok@example.com")
    response = _login(client, "ok@example.com", "nope")
    assert response.status_code == 200
    assert b"not correct" in response.content


def test_web_login_locks_after_five_failures(client, caplog):
    make_user("ok@example.com")
    for _ in range(5):
        assert _login(client, "ok@example.com", "nope").status_code == 200
    response = _login(client, "ok@example.com")
    assert response.status_code == 429
    assert b"Too many failed logins" in response.content
    assert int(response["Retry-After"]) > 0
    assert client.get("/profile/").status_code == 302
    assert "account locked" in [r.getMessage() for r in caplog.records]


def test_admin_login_locks_after_five_failures(client):
    make_user("staff@example.com", "admin")
    for _ in range(5):
        response = client.post("/admin/login/", {"username": "staff@example.com", "password": "nope"})
        assert response.status_code == 200
    response = client.post("/admin/login/", {"username": "staff@example.com", "password": PASSWORD})
    assert response.status_code == 429


def test_a_web_lock_also_locks_the_api(client, api):
    make_user("ok@example.com")
    for _ in range(5):
        _login(client, "ok@example.com", "nope")
    response = api.post("/api/v1/auth/login", {"email": "ok@example.com", "password": PASSWORD},
                        format="json")
    assert response.status_code == 429


def test_it_resets_the_password_by_email(client):
    make_user("ok@example.com")
    response = client.post("/accounts/password/reset/", {"email": "ok@example.com"})
    assert response.status_code == 302
    deliver_account_emails()
    link = _link(mail.outbox[0])
    form_url = client.get(link)["Location"]
    new = "Brand-New-Sunny-8"
    response = client.post(form_url, {"password1": new, "password2": new})
    assert response.status_code == 302
    assert _login(client, "ok@example.com", new).status_code == 302


def test_password_reset_for_an_unknown_email_looks_the_same(client):
    response = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/done/"


def test_it_changes_the_password(client):
    user = make_user("ok@example.com")
    client.force_login(user)
    new = "Changed-Sunny-Day-5"
    response = client.post("/accounts/password/change/",
                           {"oldpassword": PASSWORD, "password1": new, "password2": new})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)


def test_account_pages_use_the_portal_layout(client):
    for url in ("/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"):
        response = client.get(url)
        assert response.status_code == 200
        assert b'class="topbar"' in response.content, url


def test_google_login_is_hidden_without_credentials(client):
    assert b"Continue with Google" not in client.get("/accounts/login/").content


@override_settings(SOCIALACCOUNT_PROVIDERS={"google": {"APPS": [{"client_id": "cid", "secret": "sec",
                                                                 "key": ""}]}})
def test_google_login_is_shown_with_credentials(client):
    content = client.get("/accounts/login/").content
    assert b"Continue with Google" in content
    assert b"/accounts/google/login/" in content


def test_logged_in_account_pages_use_the_portal_layout(client):
    client.force_login(make_user("ok@example.com"))
    for url in ("/accounts/password/change/", "/accounts/email/", "/accounts/logout/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b'class="topbar"' in response.content and b"ok@example.com" in response.content, url


@override_settings(ACCOUNT_RATE_LIMITS={"login_failed": None})
def test_the_lockout_not_allauths_limit_answers_with_production_rate_limits(client):
    make_user("ok@example.com")
    for _ in range(5):
        assert _login(client, "ok@example.com", "nope").status_code == 200
    assert _login(client, "ok@example.com").status_code == 429


@override_settings(SOCIALACCOUNT_PROVIDERS={"google": {"APPS": [{"client_id": "cid", "secret": "sec",
                                                                 "key": ""}]}})
def test_continue_with_google_redirects_to_google(client):
    response = client.post("/accounts/google/login/?process=login")
    assert response.status_code == 302
    assert response["Location"].startswith("https://accounts.google.com/")
    assert "client_id=cid" in response["Location"]


def test_the_google_login_url_is_not_found_without_credentials(client):
    assert client.post("/accounts/google/login/?process=login").status_code == 404


def test_a_web_password_change_revokes_api_refresh_tokens(client, api):
    user = make_user("ok@example.com")
    refresh = api.post("/api/v1/auth/login", {"email": "ok@example.com", "password": PASSWORD},
                       format="json").json()["refresh"]
    client.force_login(user)
    new = "Changed-Sunny-Day-5"
    client.post("/accounts/password/change/", {"oldpassword": PASSWORD, "password1": new, "password2": new})
    response = api.post("/api/v1/auth/refresh-token", {"refresh": refresh}, format="json")
    assert response.status_code == 401


def test_confirmation_emails_name_commonwatt(client):
    client.post("/accounts/signup/", {"email": "w@example.com", "password1": PASSWORD, "password2": PASSWORD})
    deliver_account_emails()
    assert "CommonWatt" in mail.outbox[0].body and "example.com!" not in mail.outbox[0].body
