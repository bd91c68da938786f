"""Refresh tokens die with every password change and with suspension (issue 8, item 6).

Password changes through the admin form, the web and the API reset are covered in
test_admin_trust.py, test_web_auth.py and test_auth_api.py; here: `changepassword`,
suspension, reactivation, and tokens obtained by rotation.
"""

import io

import pytest
from django.core.management import call_command

from conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _refresh_token(api, user) -> str:
    response = api.post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()["refresh"]


def _refresh(api, token):
    return api.post("/api/v1/auth/refresh-token", {"refresh": token}, format="json")


def test_changepassword_revokes_refresh_tokens(api, world, monkeypatch):
    token = _refresh_token(api, world.a.member)
    # a rotated token is revoked too (it is a new outstanding token)
    rotated = _refresh(api, token).json()["refresh"]
    monkeypatch.setattr("getpass.getpass", lambda *a, **k: "Another-Long-Secret-9")
    call_command("changepassword", world.a.member.email, stdout=io.StringIO())
    assert _refresh(api, rotated).status_code == 401


def test_suspension_revokes_and_reactivation_does_not_revive(api, as_user, world):
    token = _refresh_token(api, world.a.member)
    referent = as_user(world.a.referent)
    url = f"/api/v1/users/{world.a.member.pk}"
    assert referent.patch(url, {"status": "suspended"}, format="json").status_code == 200
    assert _refresh(api, token).status_code == 401
    assert referent.patch(url, {"status": "active"}, format="json").status_code == 200
    assert _refresh(api, token).status_code == 401
    assert _refresh(api, _refresh_token(api, world.a.member)).status_code == 200  # new logins work


def test_a_saved_profile_does_not_revoke(api, as_user, world):
    token = _refresh_token(api, world.a.member)
    assert as_user(world.a.member).put("/api/v1/users/profile", {"full_name": "Still me"},
                                       format="json").status_code == 200
    assert _refresh(api, token).status_code == 200
