"""Fixtures of the communities tests: invitations go out by Celery and are answered on the
portal page their email links to."""

import re

import pytest

LINK = re.compile(r"/community/invitations/([A-Za-z0-9_\-]+)/")


@pytest.fixture
def eager_tasks():
    """Celery tasks run inline (the mail a task sends lands in `mailoutbox`)."""
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def invite(as_user, django_capture_on_commit_callbacks, eager_tasks):
    """`invite(actor, url, body)` -> the API response, with the invitation email sent."""

    def _invite(actor, url, body):
        with django_capture_on_commit_callbacks(execute=True):
            return as_user(actor).post(url, body, format="json")

    return _invite


@pytest.fixture
def invitation_token(mailoutbox):
    """`invitation_token(email)` -> the token of the last invitation link mailed to `email`."""

    def _token(email):
        for mail in reversed(mailoutbox):
            found = LINK.search(mail.body)
            if mail.to == [email] and found:
                return found.group(1)
        raise AssertionError(f"no invitation mailed to {email}: {[m.to for m in mailoutbox]}")

    return _token


@pytest.fixture
def answer(client):
    """`answer(user, token, "accept"|"decline")` -> the portal page's response."""

    def _answer(user, token, choice="accept"):
        client.force_login(user)
        try:
            return client.post(f"/community/invitations/{token}/", {"answer": choice})
        finally:
            client.logout()

    return _answer


@pytest.fixture
def enrol(invite, invitation_token, answer):
    """`enrol(actor, community, user, **terms)`: invite then accept; -> the accept response."""

    def _enrol(actor, community, user, **terms):
        resp = invite(actor, f"/api/v1/communities/{community.pk}/members", {"user": user.pk, **terms})
        assert resp.status_code == 202, resp.content
        return answer(user, invitation_token(user.email))

    return _enrol
