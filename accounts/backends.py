from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from accounts.lockout import ensure_not_locked


class LockoutModelBackend(ModelBackend):
    """Email + password login that refuses (429) a locked account before checking anything.

    First in AUTHENTICATION_BACKENDS, so every path that calls `authenticate()` (allauth,
    admin, JWT, OAuth2 form) goes through the same lock.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        identifier = username or kwargs.get(get_user_model().USERNAME_FIELD) or kwargs.get("email")
        if identifier:
            ensure_not_locked(str(identifier))
        return super().authenticate(request, username=identifier, password=password)
