"""The lockout counter itself (Redis, atomic): a parallel burst cannot beat it."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from accounts import lockout
from accounts.lockout import AccountLocked
from conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def _try(identifier):
    try:
        lockout.begin_attempt(identifier)
    except AccountLocked:
        return False
    return True


def test_a_parallel_burst_gets_exactly_the_allowed_attempts():
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda _: _try("burst@example.com"), range(50)))
    assert results.count(True) == 5
    assert lockout.seconds_locked("burst@example.com") > 0
    assert lockout.seconds_locked("other@example.com") == 0


def test_parallel_wrong_passwords_through_the_api_are_capped(api, db):
    from rest_framework.test import APIClient

    make_user("burst@example.com")

    def attempt(_):
        return APIClient().post("/api/v1/auth/login", {"email": "burst@example.com", "password": "x"},
                                format="json").status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(attempt, range(16)))
    assert codes.count(401) == 5 and codes.count(429) == 11


def test_a_right_password_does_not_count_as_a_failure(api):
    make_user("ok@example.com")
    for _ in range(10):
        response = api.post("/api/v1/auth/login", {"email": "ok@example.com", "password": PASSWORD},
                            format="json")
        assert response.status_code == 200


def test_it_counts_per_account_case_insensitively():
    for _ in range(5):
        lockout.begin_attempt("Case@Example.com")
    assert lockout.seconds_locked("case@example.com") > 0
    lockout.clear("CASE@example.com")
    assert lockout.seconds_locked("case@example.com") == 0
