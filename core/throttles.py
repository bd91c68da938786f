"""Rate limits for the whole DRF API: per user (`API_USER_RATE`) and, for anonymous calls,
per client address (`API_ANON_RATE`); 429 `TooManyRequests` with `Retry-After` beyond.

The rates are read on every request (not once at import), so they follow the settings; an
empty rate is no limit. The public auth endpoints keep their own stricter `AuthRateThrottle`.
Devices posting readings (the django-ninja device API) are outside both: they authenticate
with their own credentials and are bounded by `IOT_MAX_BATCH`.
"""

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.throttling import SimpleRateThrottle


class ApiUserRateThrottle(SimpleRateThrottle):
    """Authenticated calls, per user (whichever authentication: JWT or session)."""

    scope = "api_user"

    def get_rate(self):
        return settings.API_USER_RATE or None

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class ApiAnonRateThrottle(SimpleRateThrottle):
    """Anonymous calls, per client address (X-Forwarded-For behind NUM_PROXIES proxies)."""

    scope = "api_anon"

    def get_rate(self):
        return settings.API_ANON_RATE or None

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class CspReportThrottle(SimpleRateThrottle):
    """Violation reports (`/csp-report/`), per client address: a page cannot be made to
    flood the logs (`CSP_REPORT_RATE`)."""

    scope = "csp_report"

    def get_rate(self):
        return settings.SECURITY_REPORT_RATE or None

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AnonymousCallThrottle(BaseAuthentication):
    """Last of the authentication classes: reached only when no credentials were given.

    DRF checks permissions before throttles, so an anonymous call to a protected endpoint
    would get its 401 without ever being counted; counting here, during authentication,
    limits anonymous calls to every endpoint, public or protected, alike."""

    def authenticate(self, request):
        view = (getattr(request, "parser_context", None) or {}).get("view")
        if getattr(view, "swagger_fake_view", False):
            return None  # drf-spectacular's mock requests (schema generation, `check --deploy`)
        throttle = ApiAnonRateThrottle()
        if not throttle.allow_request(request, None):
            raise exceptions.Throttled(throttle.wait())
        return None


class _NoSecurityScheme(OpenApiAuthenticationExtension):
    """Not a way to authenticate: nothing in the OpenAPI schema."""

    target_class = AnonymousCallThrottle
    name: list = []

    def get_security_requirement(self, auto_schema):
        return None

    def get_security_definition(self, auto_schema):
        return []
