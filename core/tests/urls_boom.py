"""Test-only URLconf (used through override_settings(ROOT_URLCONF=...)): views that fail."""

from django.http import HttpResponseForbidden
from django.urls import include, path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny


@api_view(["GET"])
@permission_classes([AllowAny])
def drf_boom(request):
    raise RuntimeError("secret SELECT * FROM users")


def html_forbidden(request):
    return HttpResponseForbidden("<h1>CSRF verification failed</h1>")


def django_boom(request):
    raise RuntimeError("secret SELECT * FROM users")


urlpatterns = [
    path("api/v1/boom-drf", drf_boom),
    path("api/v1/boom-django", django_boom),
    path("api/v1/html-403", html_forbidden),
    path("boom", django_boom),
    path("", include("config.urls")),
]
handler500 = "core.views.server_error"
handler404 = "core.views.not_found"
