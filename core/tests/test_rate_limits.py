"""API_USER_RATE per user for the whole API, API_ANON_RATE per client for anonymous calls:
429 TooManyRequests with Retry-After beyond, in the error envelope."""

import pytest
from django.test import override_settings
from rest_framework_simplejwt.tokens import AccessToken

pytestmark = pytest.mark.django_db


def bearer(user) -> dict:
    return {"Authorization": f"Bearer {AccessToken.for_user(user)}"}


@override_settings(API_USER_RATE="3/min")
def test_a_user_past_the_rate_gets_429_with_retry_after_and_others_do_not(world, client):
    for path in ("/api/v1/members", "/api/v1/iot/devices", "/api/v1/dashboard"):
        assert client.get(path, headers=bearer(world.a.member)).status_code == 200

    refused = client.get("/api/v1/communities", headers=bearer(world.a.member))

    assert refused.status_code == 429
    assert refused.json()["error"] == "TooManyRequests"
    assert 0 < int(refused["Retry-After"]) <= 60
    # the limit is the user's, whatever the endpoint; another user is untouched
    assert client.get("/api/v1/members", headers=bearer(world.a.other_member)).status_code == 200


@override_settings(API_USER_RATE="2/min")
def test_the_user_limit_counts_session_calls_too(world, client):
    client.force_login(world.a.member)
    assert [client.get("/api/v1/members").status_code for _ in range(3)] == [200, 200, 429]


@override_settings(API_ANON_RATE="2/min", API_USER_RATE="100/min")
def test_anonymous_calls_are_limited_per_client_even_on_protected_endpoints(world, client):
    statuses = [client.get("/api/v1/members").status_code for _ in range(2)]
    refused = client.get("/api/v1/members")

    assert statuses == [401, 401]
    assert refused.status_code == 429 and refused["Retry-After"]
    # another client address has its own budget; an authenticated call is not anonymous
    assert client.get("/api/v1/members", REMOTE_ADDR="10.9.8.7").status_code == 401
    assert client.get("/api/v1/members", headers=bearer(world.a.member)).status_code == 200


@override_settings(API_ANON_RATE="1/min")
def test_anonymous_public_endpoints_are_limited_too(db, client):
    assert client.get("/api/v1/schema/").status_code == 200
    assert client.get("/api/v1/schema/").status_code == 429


def test_the_defaults_are_high_under_testing_and_100_per_minute_otherwise():
    import os
    import subprocess
    import sys

    from django.conf import settings

    assert settings.API_USER_RATE == "100000/min"
    env = {**os.environ, "TESTING": "0", "DEBUG": "1"}  # development secrets, outside tests
    env.pop("API_USER_RATE", None)
    out = subprocess.run([sys.executable, "manage.py", "shell", "--no-imports", "-c",
                          "from django.conf import settings as s; print(s.API_USER_RATE, s.API_ANON_RATE)"],
                         cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["100/min", "60/min"], out.stderr
