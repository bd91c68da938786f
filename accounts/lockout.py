"""Brute-force protection shared by every login path.

After LOGIN_LOCKOUT_ATTEMPTS failed logins on one account within LOGIN_LOCKOUT_WINDOW_S,
the account is locked until the oldest failure in the window ages out. The state lives
in Redis (the cache), so all web workers and the API agree: one sorted set per account,
failure time as score, updated in one MULTI/EXEC so parallel failures are all counted
(a read-modify-write of a cached list would lose some of a concurrent burst).
"""

import hashlib
import logging
import time
import uuid

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
    return cache.make_key(f"login-failures:{digest}")


def _redis():
    return cache._cache.get_client(write=True)  # Django's RedisCache: the raw redis-py client


def _recent(identifier: str, now: float) -> list[float]:
    """Failure times within the window, oldest first."""
    key = _key(identifier)
    pipe = _redis().pipeline()
    pipe.zremrangebyscore(key, 0, now - settings.LOGIN_LOCKOUT_WINDOW_S)
    pipe.zrange(key, 0, -1, withscores=True)
    return [score for _, score in pipe.execute()[1]]


def record_failure(identifier: str) -> None:
    if not identifier:
        return
    now = time.time()
    window = settings.LOGIN_LOCKOUT_WINDOW_S
    key = _key(identifier)
    pipe = _redis().pipeline()
    pipe.zremrangebyscore(key, 0, now - window)
    pipe.zadd(key, {f"{now:.6f}:{uuid.uuid4().hex[:8]}": now})
    pipe.zcard(key)
    pipe.expire(key, window + 1)
    failures = pipe.execute()[2]
    logger.warning("login failed", extra={"account": identifier, "failures": failures})
    if failures == settings.LOGIN_LOCKOUT_ATTEMPTS:
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
    _redis().delete(_key(identifier))
