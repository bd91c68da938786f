from django.urls import path

from iot import views

app_name = "iot"

urlpatterns = [
    path("iot/", views.live_dashboard, name="dashboard"),
    path("iot/devices/<int:pk>/", views.device_detail, name="device"),
]
