from django.urls import path

from pricing import api

urlpatterns = [
    path("pricing/current", api.PricingCurrentApi.as_view(), name="pricing-current"),
    path("pricing/forecast", api.PricingForecastApi.as_view(), name="pricing-forecast"),
]
