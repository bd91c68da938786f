from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("wallet/", views.wallet_page, name="wallet"),
    path("wallet/dev-checkout/<uuid:payment_uuid>/", views.dev_checkout, name="dev_checkout"),
    path("operators/metrics/", views.metrics_page, name="metrics"),
]
