"""Back office of the device registry: devices (the secret is shown once, in a message, on
creation and rotation), the metric catalogue, dead letters and device commands.

Every list starts from `visible_to(user)` (core.admin.ScopedAdmin); writes go through the
device services, so the admin obeys the same rules as the API.
"""

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from core.admin import ScopedAdmin
from core.exceptions import DomainError
from iot.bridges.mqtt_auth import serial_reserved
from iot.devices.services import (
    device_create,
    device_delete,
    device_rotate_secret,
    device_scope_check,
    device_update,
)
from iot.models import DeadLetter, Device, DeviceCommand, Metric

DEVICE_FIELDS = ("serial", "name", "kind", "protocol", "plant", "metering_point", "community", "connection",
                 "poll_interval_s", "expected_interval_s", "is_active")


def _show_secret(request, device: Device, secret: str) -> None:
    messages.warning(request, format_html(
        "Secret of <b>{}</b>, shown once: <code>{}</code> (store it on the device now).",
        device.serial, secret))


class DeviceAdminForm(forms.ModelForm):
    class Meta:
        model = Device
        fields = DEVICE_FIELDS

    def clean_serial(self):
        serial = self.cleaned_data.get("serial")
        if serial_reserved(serial):
            raise forms.ValidationError("This serial is reserved for the platform.")
        return serial

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                device_scope_check(user=self.request_user, plant=data.get("plant"),
                                   metering_point=data.get("metering_point"), community=data.get("community"))
            except DomainError as exc:
                raise forms.ValidationError(exc.message) from None
        return data


@admin.register(Device)
class DeviceAdmin(ScopedAdmin):
    form = DeviceAdminForm
    add_roles = (Role.VENDOR, Role.REFERENT)
    list_display = ("serial", "name", "kind", "protocol", "community", "plant", "status_badge", "last_seen",
                    "is_active")
    list_filter = ("kind", "protocol", "is_active", "community")
    search_fields = ("serial", "name")
    readonly_fields = ("status_badge", "last_seen", "last_error", "last_error_at", "secret_rotated_at",
                       "created_at", "updated_at")
    fields = (*DEVICE_FIELDS, *readonly_fields)
    actions = ("rotate_secret",)
    list_select_related = ("community", "plant")

    @admin.display(description=_("status"))
    def status_badge(self, obj: Device) -> str:
        return obj.status

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.request_user = request.user
        return form

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "serial") if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in DEVICE_FIELDS if name in form.cleaned_data}
        data["connection_settings"] = data.pop("connection", {}) or {}
        if change:
            data.pop("serial", None)
            device_update(device=obj, user=request.user, **data)
        else:
            device, secret = device_create(user=request.user, **data)
            obj.pk = device.pk
            _show_secret(request, device, secret)

    def delete_model(self, request, obj):
        device_delete(device=obj)

    def delete_queryset(self, request, queryset):
        for device in queryset:
            device_delete(device=device)

    @admin.action(description=_("Rotate the secret of the selected devices"))
    def rotate_secret(self, request, queryset):
        for device in queryset.filter(pk__in=Device.objects.managed_by(request.user).values("pk")):
            _show_secret(request, device, device_rotate_secret(device=device))


@admin.register(Metric)
class MetricAdmin(admin.ModelAdmin):
    """The catalogue is platform-wide: staff may look, administrators extend it."""

    list_display = ("code", "name", "unit", "min_value", "max_value", "is_cumulative")
    search_fields = ("code", "name")
    list_filter = ("is_cumulative", "unit")

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_platform_admin

    def has_change_permission(self, request, obj=None):
        return self.has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False  # stored readings refer to it


@admin.register(DeadLetter)
class DeadLetterAdmin(ScopedAdmin):
    """Refused payloads with their reason: read-only; administrators may purge them."""

    list_display = ("received_at", "source", "serial", "topic", "reason")
    list_filter = ("source",)
    search_fields = ("serial", "reason", "topic")
    readonly_fields = ("received_at", "source", "device", "serial", "topic", "reason", "raw")
    fields = readonly_fields
    date_hierarchy = "received_at"

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DeviceCommand)
class DeviceCommandAdmin(ScopedAdmin):
    list_display = ("created_at", "device", "command", "status", "sent_at", "acked_at")
    list_filter = ("status", "command")
    search_fields = ("device__serial", "command")
    readonly_fields = ("command_id", "device", "command", "payload", "status", "created_by", "created_at",
                       "sent_at", "acked_at", "response", "error")
    fields = readonly_fields
    list_select_related = ("device",)

    def has_change_permission(self, request, obj=None):
        return False
