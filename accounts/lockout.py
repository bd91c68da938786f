"""Brute-force protection shared by every login path.

After LOGIN_LOCKOUT_ATTEMPTS failed logins on one account within LOGIN_LOCKOUT_WINDOW_S,
the account is locked until the oldest failure in the window ages out. The state lives
in Redis (the cache), so all web workers and the API agree: one sorted set per account,
failure time as score, updated in one MULTI/EXEC so parallel failures are all counted
(a read-modify-write of a cached list would lose some of a concurrent burst).

A password check first *reserves* its attempt (`begin_attempt`, one Lua script: prune,
count, refuse or add), so a parallel burst cannot slip more than LOGIN_LOCKOUT_ATTEMPTS
guesses past the check before the lock shows; a successful check gives its reservation
back (`end_attempt_ok`), a failed one leaves it as the recorded failure.
"""

import hashlib
import logging
import time
import uuid

from django.conf import settings
from django.core.cache import cache

from core.exceptions import TooMany

logger = logging.getLogger("commonwatt.auth")


class AccountLocked(TooMany):
    """A domain error: the DRF handler answers 429, the middleware a 429 page elsewhere."""

    def __init__(self, retry_after_s: int):
        super().__init__(
            "Too many failed logins for this account; try again later, or log in with a one-time "
            "link sent by email (/login-link/ on the web, POST /api/v1/auth/login-link-request).",
            details={"retry_after_s": retry_after_s}, retry_after_s=retry_after_s,
        )


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


_BEGIN = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, tonumber(ARGV[1]) - tonumber(ARGV[2]))
local n = redis.call('ZCARD', KEYS[1])
local limit = tonumber(ARGV[3])
if n >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
  return {0, oldest[2]}
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]) + 1)
return {1, tostring(n + 1)}
"""


def begin_attempt(identifier: str) -> str:
    """Reserves one password check for the account; AccountLocked (429) if it is locked.

    Returns the reservation to hand to `end_attempt_ok` when the password was right."""
    now = time.time()
    window = settings.LOGIN_LOCKOUT_WINDOW_S
    member = f"{now:.6f}:{uuid.uuid4().hex[:8]}"
    allowed, value = _redis().eval(_BEGIN, 1, _key(identifier), repr(now), window,
                                   settings.LOGIN_LOCKOUT_ATTEMPTS, member)
    if not allowed:
        remaining = max(1, int(window - (now - float(value))) + 1)
        logger.warning("login refused: account locked", extra={"account": identifier})
        raise AccountLocked(remaining)
    return member


def end_attempt_ok(identifier: str, member: str) -> None:
    """The password was right: the reserved attempt is not a failure."""
    _redis().zrem(_key(identifier), member)


def log_failure(identifier: str) -> None:
    """Logs a failed password check (its reservation already counts it) and the lock."""
    if not identifier:
        return
    failures = len(_recent(identifier, time.time()))
    logger.warning("login failed", extra={"account": identifier, "failures": failures})
    if failures >= settings.LOGIN_LOCKOUT_ATTEMPTS:
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


def clear(identifier: str) -> None:
    _redis().delete(_key(identifier))
