from django.urls import path

from market import views

app_name = "market"

urlpatterns = [
    path("market/", views.market_page, name="market"),
]
