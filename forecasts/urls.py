from django.urls import path

from forecasts import views

app_name = "forecasts"

urlpatterns = [
    path("forecast/", views.forecast_page, name="page"),
    path("forecast/batteries/", views.batteries_page, name="batteries"),
]
