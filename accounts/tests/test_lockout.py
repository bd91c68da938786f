"""The lockout counter itself: parallel failures all count (Redis, atomic)."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from accounts import lockout

pytestmark = pytest.mark.django_db


def test_parallel_failures_are_all_counted(settings):
    settings.LOGIN_LOCKOUT_ATTEMPTS = 50
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(lambda _: lockout.record_failure("burst@example.com"), range(50)))
    assert lockout.seconds_locked("burst@example.com") > 0
    assert lockout.seconds_locked("other@example.com") == 0


def test_it_counts_per_account_case_insensitively():
    for _ in range(5):
        lockout.record_failure("Case@Example.com")
    assert lockout.seconds_locked("case@example.com") > 0
    lockout.clear("CASE@example.com")
    assert lockout.seconds_locked("case@example.com") == 0
