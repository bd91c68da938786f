from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class AuthRateThrottle(SimpleRateThrottle):
    """Per-client-IP limit on the public auth endpoints (register, logins, reset emails).

    The account lockout stops password guessing on one account; this stops one client from
    mass-registering or mailing reset tokens to many addresses. Reads AUTH_API_RATE on every
    request (not once at import) so it follows the settings."""

    scope = "auth"

    def get_rate(self):
        return settings.AUTH_API_RATE

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
