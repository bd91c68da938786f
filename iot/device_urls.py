from django.urls import path

from iot.devices import api
from iot.ninja_api import device_api

urlpatterns = [
    path("iot/devices", api.DeviceListCreateApi.as_view(), name="iot-device-list"),
    path("iot/devices/register", api.DeviceRegisterApi.as_view(), name="iot-device-register"),
    path("iot/devices/<int:pk>", api.DeviceDetailApi.as_view(), name="iot-device-detail"),
    path("iot/devices/<int:pk>/rotate-secret", api.DeviceRotateSecretApi.as_view(),
         name="iot-device-rotate-secret"),
    path("iot/devices/<int:pk>/command", api.DeviceCommandApi.as_view(), name="iot-device-command"),
    # Device-facing API (django-ninja): POST iot/ingest, POST iot/data, docs at iot/device-api/docs
    path("iot/", device_api.urls),
]
