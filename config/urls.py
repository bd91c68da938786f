from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.throttles import admin_login
from core.metrics import metrics_view
from core.views import health

api_v1 = [
    path("", include("accounts.api_urls")),
    path("", include("communities.api_urls")),
    path("", include("plants.api_urls")),
    path("", include("iot.api_urls")),
    path("", include("simulation.api_urls")),
    path("", include("billing.api_urls")),
    path("", include("pricing.api_urls")),
    path("", include("allocations.api_urls")),
    path("billing/", include("settlement.api_urls")),
    path("billing/", include("statements.api_urls")),
    path("", include("market.api_urls")),
    path("", include("forecasts.api_urls")),
    path("", include("notifications.api_urls")),
    path("", include("audit.api_urls")),
    path("", include("privacy.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # the split view serves Swagger UI's start-up script as a file (?script): no inline script
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
]

urlpatterns = [
    path("health", health, name="health"),
    path("admin/login/", admin_login),  # the admin login, rate-limited per client IP
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include(api_v1)),
    path("", include("core.urls")),
    path("", include("accounts.urls")),
    path("", include("communities.urls")),
    path("", include("plants.urls")),
    path("", include("iot.urls")),
    path("", include("simulation.urls")),
    path("", include("billing.urls")),
    path("", include("statements.urls")),
    path("", include("market.urls")),
    path("", include("forecasts.urls")),
    path("", include("notifications.urls")),
    path("", include("privacy.urls")),
]

handler404 = "core.views.not_found"
handler500 = "core.views.server_error"
