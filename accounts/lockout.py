"""Brute-force protection shared by every login path.

After LOGIN_LOCKOUT_ATTEMPTS failed logins on one account within LOGIN_LOCKOUT_WINDOW_S,
the account is locked until the oldest failure in the window ages out. The state lives
in Redis (the cache), so all web workers and the API agree.
"""

import hashlib
import logging
import time

from django.conf import settings
from django.core.cache import cache

from core.errors import ApiError

logger = logging.getLogger("commonwatt.auth")


class AccountLocked(ApiError):
    def __init__(self, retry_after_s: int):
        super().__init__(
            "Too many failed logins for this account; try again later.",
            error="TooManyRequests", status_code=429, details={"retry_after_s": retry_after_s},
        )
        self.retry_after_s = retry_after_s


def _key(identifier: str) -> str:
    digest = hashlib.sha256(identifier.strip().lower().encode()).hexdigest()[:32]
    return f"login-failures:{digest}"


def _recent(identifier: str, now: float) -> list[float]:
    window = settings.LOGIN_LOCKOUT_WINDOW_S
    return [t for t in cache.get(_key(identifier), []) if now - t < window]


def record_failure(identifier: str) -> None:
    if not identifier:
        return
    now = time.time()
    failures = [*_recent(identifier, now), now]
    cache.set(_key(identifier), failures, timeout=settings.LOGIN_LOCKOUT_WINDOW_S)
    logger.warning("login failed", extra={"account": identifier, "failures": len(failures)})
    if len(failures) == settings.LOGIN_LOCKOUT_ATTEMPTS:
        logger.warning("account locked", extra={"account": identifier})


def seconds_locked(identifier: str) -> int:
    """Seconds until the account may log in again; 0 when it is not locked."""
    if not identifier:
        return 0
    now = time.time()
    failures = _recent(identifier, now)
    if len(failures) < settings.LOGIN_LOCKOUT_ATTEMPTS:
        return 0
    oldest_counting = failures[-settings.LOGIN_LOCKOUT_ATTEMPTS]
    return max(1, int(settings.LOGIN_LOCKOUT_WINDOW_S - (now - oldest_counting)) + 1)


def ensure_not_locked(identifier: str) -> None:
    remaining = seconds_locked(identifier)
    if remaining:
        logger.warning("login refused: account locked", extra={"account": identifier})
        raise AccountLocked(remaining)


def clear(identifier: str) -> None:
    cache.delete(_key(identifier))
