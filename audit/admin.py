from django.contrib import admin

from audit.models import AuditEvent
from core.admin import ScopedAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ScopedAdmin):
    """Read-only for admins; hidden from vendors and referents (the log spans tenants)."""

    staff_roles = ()
    list_display = ("created_at", "action", "actor", "target_user", "object_type", "object_id",
                    "request_id")
    list_filter = ("action", "object_type")
    search_fields = ("action", "object_type", "object_id", "request_id")
    list_select_related = ("actor", "target_user")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
