import re

import pytest
from django.core import mail

from accounts.models import User
from accounts.testing import deliver_account_emails
from conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db(transaction=False)


def _token_from_mail(message) -> str:
    return re.search(r"^([\w:.\-]{40,})$", message.body, re.M).group(1)


@pytest.fixture
def verified(db):
    return make_user("ada@example.com", full_name="Ada Lovelace")


def _login(api, email, password=PASSWORD):
    return api.post("/api/v1/auth/login", {"email": email, "password": password}, format="json")


class TestRegister:
    def test_it_creates_an_unverified_member_and_emails_a_link(self, api):
        response = api.post("/api/v1/auth/register",
                            {"email": "New@Example.com", "password": PASSWORD, "full_name": "New One"},
                            format="json")
        # The account is created by the sender (Celery), not in the request.
        assert response.status_code == 202, response.content
        assert not User.objects.filter(email="new@example.com").exists()
        deliver_account_emails()
        user = User.objects.get(email="new@example.com")
        assert user.role == "user" and user.is_verified is False and user.full_name == "New One"
        assert user.check_password(PASSWORD)
        assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new@example.com"]
        assert "/api/v1/auth/verify-email?token=" in mail.outbox[0].body

    def test_it_refuses_a_common_password(self, api):
        response = api.post("/api/v1/auth/register", {"email": "x@example.com", "password": "password123"},
                            format="json")
        assert response.status_code == 400
        assert response.json()["error"] == "ValidationError"
        assert "password" in response.json()["details"]
        deliver_account_emails()
        assert not User.objects.filter(email="x@example.com").exists()

    def test_a_taken_email_answers_like_a_new_one_and_mails_its_owner(self, api, verified):
        # Was: 400 "email already exists" -- which told anyone the address has an account.
        taken = api.post("/api/v1/auth/register", {"email": "ADA@example.com", "password": PASSWORD},
                         format="json")
        fresh = api.post("/api/v1/auth/register", {"email": "fresh@example.com", "password": PASSWORD},
                         format="json")
        assert taken.status_code == fresh.status_code == 202
        assert taken.json() == fresh.json()
        deliver_account_emails()
        assert User.objects.filter(email__iexact="ada@example.com").count() == 1
        assert User.objects.get(email__iexact="ada@example.com").check_password(PASSWORD)
        by_address = {m.to[0]: m for m in mail.outbox}
        assert "already have an account" in by_address["ada@example.com"].subject
        assert "verify-email" in by_address["fresh@example.com"].body

    def test_the_request_does_the_same_work_for_a_taken_and_a_new_email(
            self, api, verified):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        def statements(email):
            with CaptureQueriesContext(connection) as ctx:
                response = api.post("/api/v1/auth/register", {"email": email, "password": PASSWORD},
                                    format="json")
            assert response.status_code == 202
            return [re.sub(r'"s\d+_x\d+"', "SP", q["sql"].split(" (")[0]) for q in ctx.captured_queries]

        assert statements("ada@example.com") == statements("someone-new@example.com")
        assert len(mail.outbox) == 0  # nothing sent in the request

    def test_it_refuses_a_bad_email(self, api):
        response = api.post("/api/v1/auth/register", {"email": "nope", "password": PASSWORD}, format="json")
        assert response.status_code == 400
        assert response.json()["details"]["email"]

    def test_concurrent_sign_ups_of_one_email_make_one_account(self, api):
        for _ in range(2):
            assert api.post("/api/v1/auth/register", {"email": "twice@example.com", "password": PASSWORD},
                            format="json").status_code == 202
        assert deliver_account_emails() == 2
        assert User.objects.filter(email="twice@example.com").count() == 1
        assert sorted(m.subject for m in mail.outbox) == [
            "CommonWatt: confirm your email address", "CommonWatt: you already have an account"]


class TestVerifyEmail:
    def test_it_verifies_with_the_emailed_token_then_login_works(self, api):
        api.post("/api/v1/auth/register", {"email": "v@example.com", "password": PASSWORD}, format="json")
        deliver_account_emails()
        assert _login(api, "v@example.com").status_code == 403
        assert _login(api, "v@example.com").json()["error"] == "EmailNotVerified"
        link = re.search(r"(/api/v1/auth/verify-email\?token=\S+)", mail.outbox[0].body).group(1)
        response = api.get(link)
        assert response.status_code == 200, response.content
        assert response.json()["is_verified"] is True
        from allauth.account.models import EmailAddress
        assert EmailAddress.objects.get(email="v@example.com").verified
        assert _login(api, "v@example.com").status_code == 200

    def test_it_refuses_a_tampered_token(self, api, verified):
        response = api.get("/api/v1/auth/verify-email", {"token": "abc:def"})
        assert response.status_code == 400
        assert response.json()["error"] == "InvalidToken"

    def test_it_requires_the_token(self, api):
        response = api.get("/api/v1/auth/verify-email")
        assert response.status_code == 400
        assert "token" in response.json()["details"]


class TestLogin:
    def test_it_answers_tokens_and_the_user(self, api, verified):
        response = _login(api, "ADA@example.com")
        assert response.status_code == 200
        body = response.json()
        assert body["user"]["email"] == "ada@example.com"
        me = api.post("/api/v1/login/test-token", HTTP_AUTHORIZATION=f"Bearer {body['access']}")
        assert me.status_code == 200 and me.json()["id"] == verified.id

    def test_it_refuses_a_wrong_password_with_401(self, api, verified):
        response = _login(api, "ada@example.com", "wrong-password")
        assert response.status_code == 401
        assert response.json() == {"error": "AuthenticationFailed", "message": "Invalid email or password.",
                                   "status_code": 401, "details": {}}

    def test_it_refuses_a_suspended_user(self, api):
        make_user("s@example.com", status="suspended", is_active=False)
        assert _login(api, "s@example.com").status_code == 401

    def test_it_locks_the_account_after_five_failures(self, api, verified, caplog):
        for _ in range(5):
            assert _login(api, "ada@example.com", "bad").status_code == 401
        response = _login(api, "ada@example.com")  # even the right password
        assert response.status_code == 429
        assert response.json()["error"] == "TooManyRequests"
        assert int(response["Retry-After"]) > 0
        messages = [r.getMessage() for r in caplog.records if r.name == "commonwatt.auth"]
        assert messages.count("login failed") == 5
        assert "account locked" in messages

    def test_it_unlocks_when_the_window_passes(self, api, verified, settings):
        settings.LOGIN_LOCKOUT_WINDOW_S = 1
        for _ in range(5):
            _login(api, "ada@example.com", "bad")
        assert _login(api, "ada@example.com").status_code == 429
        import time
        time.sleep(1.1)
        assert _login(api, "ada@example.com").status_code == 200

    def test_it_does_not_lock_other_accounts(self, api, verified):
        make_user("bob@example.com")
        for _ in range(5):
            _login(api, "ada@example.com", "bad")
        assert _login(api, "bob@example.com").status_code == 200


class TestRefreshAndLogout:
    def test_it_rotates_and_refuses_the_old_refresh(self, api, verified):
        refresh = _login(api, "ada@example.com").json()["refresh"]
        first = api.post("/api/v1/auth/refresh-token", {"refresh": refresh}, format="json")
        assert first.status_code == 200
        assert first.json()["refresh"] != refresh and first.json()["access"]
        again = api.post("/api/v1/auth/refresh-token", {"refresh": refresh}, format="json")
        assert again.status_code == 401
        assert again.json()["error"] == "AuthenticationFailed"
        assert "blacklisted" in again.json()["message"]
        newer = api.post("/api/v1/auth/refresh-token", {"refresh": first.json()["refresh"]}, format="json")
        assert newer.status_code == 200

    def test_it_refuses_garbage(self, api):
        response = api.post("/api/v1/auth/refresh-token", {"refresh": "garbage"}, format="json")
        assert response.status_code == 401
        assert response.json()["message"]

    def test_logout_blacklists_the_refresh(self, api, verified):
        refresh = _login(api, "ada@example.com").json()["refresh"]
        assert api.post("/api/v1/auth/logout", {"refresh": refresh}, format="json").status_code == 204
        response = api.post("/api/v1/auth/refresh-token", {"refresh": refresh}, format="json")
        assert response.status_code == 401

    def test_logout_requires_the_refresh(self, api):
        response = api.post("/api/v1/auth/logout", {}, format="json")
        assert response.status_code == 400
        assert "refresh" in response.json()["details"]


class TestPasswordReset:
    def test_it_answers_the_same_for_unknown_emails(self, api, verified):
        known = api.post("/api/v1/auth/password-reset-request", {"email": "ada@example.com"},
                         format="json")
        unknown = api.post("/api/v1/auth/password-reset-request", {"email": "who@example.com"},
                           format="json")
        deliver_account_emails()
        assert known.status_code == unknown.status_code == 202
        assert known.json() == unknown.json()
        assert [m.to for m in mail.outbox] == [["ada@example.com"]]

    def test_the_request_does_the_same_queries_for_unknown_emails(self, api, verified):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        def statements(email):
            with CaptureQueriesContext(connection) as ctx:
                api.post("/api/v1/auth/password-reset-request", {"email": email}, format="json")
            return [re.sub(r'"s\d+_x\d+"', "SP", q["sql"].split(" (")[0]) for q in ctx.captured_queries]

        assert statements("ada@example.com") == statements("who@example.com")
        assert mail.outbox == []  # sent by the worker, not in the request

    def test_it_resets_with_the_token_once(self, api, verified):
        api.post("/api/v1/auth/password-reset-request", {"email": "ada@example.com"}, format="json")
        deliver_account_emails()
        token = _token_from_mail(mail.outbox[0])
        new = "Another-Sunny-Day-7"
        response = api.post("/api/v1/auth/password-reset", {"token": token, "new_password": new},
                            format="json")
        assert response.status_code == 200, response.content
        assert _login(api, "ada@example.com", new).status_code == 200
        assert _login(api, "ada@example.com").status_code == 401
        again = api.post("/api/v1/auth/password-reset", {"token": token, "new_password": "Third-Sunny-9x"},
                         format="json")
        assert again.status_code == 400 and again.json()["error"] == "InvalidToken"

    def test_it_applies_the_password_validators(self, api, verified):
        api.post("/api/v1/auth/password-reset-request", {"email": "ada@example.com"}, format="json")
        deliver_account_emails()
        token = _token_from_mail(mail.outbox[0])
        response = api.post("/api/v1/auth/password-reset", {"token": token, "new_password": "12345678"},
                            format="json")
        assert response.status_code == 400
        assert "password" in response.json()["details"]
        assert _login(api, "ada@example.com").status_code == 200

    def test_it_revokes_refresh_tokens(self, api, verified):
        refresh = _login(api, "ada@example.com").json()["refresh"]
        api.post("/api/v1/auth/password-reset-request", {"email": "ada@example.com"}, format="json")
        deliver_account_emails()
        api.post("/api/v1/auth/password-reset",
                 {"token": _token_from_mail(mail.outbox[0]), "new_password": "Another-Sunny-Day-7"},
                 format="json")
        assert api.post("/api/v1/auth/refresh-token", {"refresh": refresh}, format="json").status_code == 401


class TestOAuth2Form:
    def test_it_answers_a_bearer_token_for_form_data(self, api, verified):
        response = api.post("/api/v1/login/access-token",
                            {"username": "ada@example.com", "password": PASSWORD})
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"access_token", "token_type"} and body["token_type"] == "bearer"
        me = api.post("/api/v1/login/test-token", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
        assert me.json()["email"] == "ada@example.com"

    def test_it_accepts_urlencoded_bodies(self, client, verified):
        response = client.post("/api/v1/login/access-token",
                               data=f"username=ada%40example.com&password={PASSWORD}",
                               content_type="application/x-www-form-urlencoded")
        assert response.status_code == 200

    def test_it_refuses_a_wrong_password(self, api, verified):
        response = api.post("/api/v1/login/access-token", {"username": "ada@example.com", "password": "x"})
        assert response.status_code == 401

    def test_it_locks_after_five_failures(self, api, verified):
        for _ in range(5):
            api.post("/api/v1/login/access-token", {"username": "ada@example.com", "password": "x"})
        response = api.post("/api/v1/login/access-token",
                            {"username": "ada@example.com", "password": PASSWORD})
        assert response.status_code == 429
        assert response.json()["error"] == "TooManyRequests"

    def test_test_token_needs_a_token(self, api):
        response = api.post("/api/v1/login/test-token")
        assert response.status_code == 401
        assert response.json()["error"] in ("NotAuthenticated", "AuthenticationFailed")

    def test_test_token_refuses_a_bad_token(self, api):
        response = api.post("/api/v1/login/test-token", HTTP_AUTHORIZATION="Bearer nope")
        assert response.status_code == 401


class TestThrottle:
    def test_public_auth_endpoints_are_rate_limited_per_client(self, api, settings):
        settings.AUTH_API_RATE = "3/min"
        for _ in range(3):
            response = api.post("/api/v1/auth/password-reset-request", {"email": "x@example.com"},
                                format="json")
            assert response.status_code == 202
        response = api.post("/api/v1/auth/register", {"email": "y@example.com", "password": PASSWORD},
                            format="json")
        assert response.status_code == 429
        assert response.json()["error"] == "TooManyRequests"
        assert not User.objects.filter(email="y@example.com").exists()
        other = api.post("/api/v1/auth/password-reset-request", {"email": "x@example.com"},
                         format="json", REMOTE_ADDR="10.0.0.9")
        assert other.status_code == 202


class TestEmailLanguage:
    """Account emails are written in the recipient's saved language (issue 11)."""

    def test_an_italian_user_gets_the_reset_email_in_italian_and_an_english_one_in_english(self, api):
        make_user("it@example.com", full_name="Grazia Deledda", preferences={"language": "it"})
        make_user("en@example.com", full_name="Ada Lovelace")
        for email in ("it@example.com", "en@example.com"):
            # the request's own language does not matter: the recipient's does
            api.post("/api/v1/auth/password-reset-request", {"email": email}, format="json",
                     HTTP_ACCEPT_LANGUAGE="en" if email.startswith("it") else "it")
        deliver_account_emails()
        by_address = {m.to[0]: m for m in mail.outbox}
        italian, english = by_address["it@example.com"], by_address["en@example.com"]
        assert italian.subject == "CommonWatt: reimposta la password"
        assert italian.body.startswith("Ciao Grazia,") and "ha chiesto di reimpostare" in italian.body
        assert english.subject == "CommonWatt: reset your password"
        assert english.body.startswith("Hello Ada,") and "asked to reset" in english.body
        # the token is the same kind in both: one line of its own
        assert _token_from_mail(italian) and _token_from_mail(english)
