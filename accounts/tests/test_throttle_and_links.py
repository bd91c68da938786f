"""Issue 8, item 7 and the accounts races/retention: rate limits key on the real client
address; the admin login is limited per IP; a locked account still gets in through an
emailed one-time link; concurrent creates never answer 500; expired credentials are purged.
"""

import io
import json
import re
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from accounts.testing import deliver_account_emails
from conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def test_a_spoofed_x_forwarded_for_does_not_escape_the_limit(api, settings):
    settings.AUTH_API_RATE = "3/min"
    answers = [api.post("/api/v1/auth/password-reset-request", {"email": "x@example.com"}, format="json",
                        HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code for i in range(4)]
    assert answers == [202, 202, 202, 429]


def test_behind_a_declared_proxy_the_forwarded_client_is_used(api, settings):
    settings.AUTH_API_RATE = "2/min"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    for client_ip in ("198.51.100.1", "198.51.100.2"):
        for _ in range(2):
            assert api.post("/api/v1/auth/password-reset-request", {"email": "x@example.com"},
                            format="json", HTTP_X_FORWARDED_FOR=client_ip).status_code == 202
    assert api.post("/api/v1/auth/password-reset-request", {"email": "x@example.com"},
                    format="json", HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429


def test_the_admin_login_is_limited_per_ip(client, settings, world):
    settings.ADMIN_LOGIN_RATE = "3/min"
    for i in range(3):  # three different accounts: the per-account lockout never triggers
        response = client.post("/admin/login/", {"username": f"guess{i}@example.com", "password": "x"})
        assert response.status_code == 200
    response = client.post("/admin/login/", {"username": world.admin.email, "password": PASSWORD})
    assert response.status_code == 429 and response["Retry-After"]
    assert client.get("/admin/login/").status_code == 200  # the form itself is not limited
    response = client.post("/admin/login/", {"username": world.admin.email, "password": PASSWORD},
                           REMOTE_ADDR="192.0.2.50")
    assert response.status_code == 302


def _token(message) -> str:
    return re.search(r"^([\w:.\-]{40,})$", message.body, re.M).group(1)


def test_a_locked_account_logs_in_with_the_emailed_one_time_link(api):
    owner = make_user("owner@example.com")
    for _ in range(5):
        api.post("/api/v1/auth/login", {"email": owner.email, "password": "wrong-guess"}, format="json")
    locked = api.post("/api/v1/auth/login", {"email": owner.email, "password": PASSWORD}, format="json")
    assert locked.status_code == 429 and "login-link-request" in locked.json()["message"]

    known = api.post("/api/v1/auth/login-link-request", {"email": owner.email}, format="json")
    unknown = api.post("/api/v1/auth/login-link-request", {"email": "nobody@example.com"}, format="json")
    assert known.status_code == unknown.status_code == 202 and known.json() == unknown.json()
    assert mail.outbox == []
    deliver_account_emails()
    assert [m.to for m in mail.outbox] == [[owner.email]]
    token = _token(mail.outbox[0])

    response = api.post("/api/v1/auth/login-link", {"token": token}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["user"]["email"] == owner.email and response.json()["refresh"]
    # one time only, and the lock is lifted for the password too
    assert api.post("/api/v1/auth/login-link", {"token": token}, format="json").status_code == 400
    assert api.post("/api/v1/auth/login", {"email": owner.email, "password": PASSWORD},
                    format="json").status_code == 200


def test_a_tampered_login_link_is_refused(api):
    response = api.post("/api/v1/auth/login-link", {"token": "abc:def"}, format="json")
    assert response.status_code == 400 and response.json()["error"] == "InvalidToken"


def test_retention_deletes_expired_tokens_and_sessions(api, settings):
    from django.contrib.sessions.models import Session
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    settings.AUTH_RETENTION_DAYS = 7
    user = make_user("keep@example.com")
    api.post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD}, format="json")
    api.post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD}, format="json")
    old = OutstandingToken.objects.filter(user=user).first()
    OutstandingToken.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(days=8))
    Session.objects.create(session_key="x" * 32, session_data="",
                           expire_date=timezone.now() - timedelta(days=8))
    Session.objects.create(session_key="y" * 32, session_data="",
                           expire_date=timezone.now() + timedelta(days=1))
    out = io.StringIO()
    call_command("auth_retention", stdout=out)
    assert json.loads(out.getvalue())["sessions"] == 1
    assert not OutstandingToken.objects.filter(pk=old.pk).exists()
    assert OutstandingToken.objects.filter(user=user).count() == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == ["y" * 32]


def test_the_accounts_beat_tasks_are_registered():
    from config.beat import BEAT_TASKS
    from config.celery import app

    tasks = {t["task"] for t in BEAT_TASKS}
    assert {"accounts.tasks.account_emails_sweep_task", "accounts.tasks.auth_retention_task"} <= tasks
    app.loader.import_default_modules()
    assert "accounts.tasks.auth_retention_task" in app.tasks


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_with_the_same_generated_username_never_fail(world):
    """Eight admins' requests at once, all for `mario@...`: every one 201, distinct usernames."""
    barrier = threading.Barrier(8)
    answers: list[int] = []

    def create(i):
        client = APIClient()
        client.force_authenticate(user=world.admin)
        barrier.wait()
        try:
            response = client.post("/api/v1/users", {"email": f"mario@host{i}.example", "role": "user",
                                                     "password": PASSWORD}, format="json")
            answers.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [201] * 8
    names = list(User.objects.filter(email__startswith="mario@").values_list("username", flat=True))
    assert len(names) == len(set(names)) == 8


@pytest.mark.django_db(transaction=True)
def test_concurrent_renames_to_one_username_answer_400_not_500(world):
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def rename(user):
        client = APIClient()
        client.force_authenticate(user=world.admin)
        barrier.wait()
        try:
            answers.append(client.patch(f"/api/v1/users/{user.pk}", {"username": "the-one"},
                                        format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=rename, args=(u,)) for u in (world.a.member, world.b.member)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [200, 400]


def test_a_locked_web_user_logs_in_through_the_portal_link(client):
    owner = make_user("webowner@example.com")
    for _ in range(5):
        client.post("/accounts/login/", {"login": owner.email, "password": "wrong-guess"})
    locked = client.post("/accounts/login/", {"login": owner.email, "password": PASSWORD})
    assert locked.status_code == 429 and b"/login-link/" in locked.content
    assert client.post("/login-link/", {"email": owner.email}).status_code == 200
    deliver_account_emails()
    link = re.search(r"(/login-link/confirm/\?token=\S+)", mail.outbox[0].body).group(1)
    page = client.get(link)
    assert page.status_code == 200 and client.get("/").status_code == 302  # GET does not log in
    token = page.context["token"]
    response = client.post("/login-link/confirm/", {"token": token})
    assert response.status_code == 302 and client.get("/").status_code == 200
    client.logout()
    assert client.post("/login-link/confirm/", {"token": token}).status_code == 400  # spent


def test_a_suspended_user_loses_the_web_session(client, as_user, world):
    client.force_login(world.a.member, backend="accounts.backends.LockoutModelBackend")
    assert client.get("/").status_code == 200
    as_user(world.a.referent).patch(f"/api/v1/users/{world.a.member.pk}", {"status": "suspended"},
                                    format="json")
    assert client.get("/").status_code == 302
