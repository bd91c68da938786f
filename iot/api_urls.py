from django.urls import include, path

# device registry + ingestion (iot/device_urls.py) and queries/live/dashboards (iot/query_urls.py)
urlpatterns = [
    path("", include("iot.device_urls")),
    path("", include("iot.query_urls")),
]
