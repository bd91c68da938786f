from django.urls import include, path

# device registry + ingestion (iot/device_urls.py) and queries/live/dashboards (iot/read/urls.py)
urlpatterns = [
    path("", include("iot.device_urls")),
    path("", include("iot.read.urls")),
]
