"""Reads of the device registry, always scoped by `visible_to`."""

from django.db.models import QuerySet

from iot.models import Device, DeviceCommand


def device_list(*, user) -> QuerySet[Device]:
    return Device.objects.visible_to(user).select_related("plant", "metering_point", "community")


def device_commands(*, device: Device) -> QuerySet[DeviceCommand]:
    return device.commands.select_related("created_by").order_by("-created_at", "-id")
