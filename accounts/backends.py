from asgiref.sync import sync_to_async
from django.contrib.auth.backends import ModelBackend

from accounts import lockout
from accounts.models import User


class LockoutModelBackend(ModelBackend):
    """Email + password login that refuses (429) a locked account before checking anything.

    First in AUTHENTICATION_BACKENDS, so every path that calls `authenticate()` (allauth,
    admin, JWT, OAuth2 form) goes through the same lock. Each password check reserves its
    attempt first (accounts.lockout), so concurrent guesses are capped too. Emails match
    case-insensitively, so this backend alone decides email + password logins.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        identifier = str(username or kwargs.get("email") or kwargs.get(User.USERNAME_FIELD) or "").strip()
        if not identifier or password is None:
            return None
        attempt = lockout.begin_attempt(identifier)
        user = User.objects.filter(email__iexact=identifier).first()
        if user is None:
            # Hash once anyway so unknown and known emails take as long (Django #20760).
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            lockout.end_attempt_ok(identifier, attempt)
            return user
        return None

    async def aauthenticate(self, request, username=None, password=None, **kwargs):
        # ModelBackend's own async version would skip the lockout.
        return await sync_to_async(self.authenticate)(request, username=username, password=password,
                                                      **kwargs)
