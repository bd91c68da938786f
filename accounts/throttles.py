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


class AdminLoginRateThrottle(AuthRateThrottle):
    """Per-client-IP limit on the admin login form's POSTs (ADMIN_LOGIN_RATE)."""

    scope = "admin-login"

    def get_rate(self):
        return settings.ADMIN_LOGIN_RATE


def admin_login(request, **kwargs):
    """The admin site's login view behind AdminLoginRateThrottle (mounted in config/urls.py).

    The client is REMOTE_ADDR unless NUM_PROXIES says how many proxies to trust, as for the
    API (DRF's `get_ident`)."""
    from django.contrib import admin
    from django.shortcuts import render

    if request.method == "POST":
        throttle = AdminLoginRateThrottle()
        if not throttle.allow_request(request, None):
            wait = int(throttle.wait() or 1) + 1
            response = render(request, "error.html", {
                "status": 429, "message": "Too many login attempts from your address; try again later."},
                status=429)
            response["Retry-After"] = str(wait)
            return response
    return admin.site.login(request, **kwargs)
