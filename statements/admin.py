"""Back office: statements, read-only (the run's post step issues them), with their email
row; scoped as everything else (`Statement.objects.visible_to`)."""

from django.contrib import admin

from core.admin import ScopedAdmin
from statements.models import Statement, StatementEmail


class EmailInline(admin.StackedInline):
    model = StatementEmail
    can_delete = False
    extra = 0
    readonly_fields = ("email", "message_id", "created_at", "claimed_at", "sent_at", "attempts", "last_error")
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return True  # the statement's own row; the statement's scope already applies


@admin.register(Statement)
class StatementAdmin(ScopedAdmin):
    list_display = ("number", "community", "month", "user", "kind", "total_eur", "created_at")
    list_filter = ("kind", "month")
    search_fields = ("number", "user__email")
    readonly_fields = ("number", "run", "community", "month", "membership", "user", "kind", "total_eur",
                       "content_hash", "data", "created_at")
    fields = readonly_fields
    inlines = [EmailInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("community", "user")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
