"""Back office: the delivery outbox, read-only, for admins (what was sent, retried, failed,
or left with an unknown outcome). Notifications themselves stay their users' own."""

from django.contrib import admin

from core.admin import ScopedAdmin
from notifications.models import Delivery


@admin.register(Delivery)
class DeliveryAdmin(ScopedAdmin):
    staff_roles = ()
    list_display = ["id", "notification_id", "channel", "status", "attempts", "not_before", "sent_at",
                    "provider_status"]
    list_filter = ["status", "channel"]
    search_fields = ["provider_ref"]
    readonly_fields = ["notification", "channel", "status", "not_before", "attempts", "last_error",
                       "claimed_at", "sent_at", "provider_ref", "provider_status", "created_at"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
