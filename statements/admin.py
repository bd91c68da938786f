"""Back office: statements (read-only: they are issued by the run's post step) and their
email outbox, scoped as everything else."""

from django.contrib import admin

from statements.models import Statement, StatementEmail


@admin.register(Statement)
class StatementAdmin(admin.ModelAdmin):
    list_display = ("number", "community", "month", "user", "kind", "total_eur", "created_at")
    list_filter = ("kind", "month")
    search_fields = ("number", "user__email")
    readonly_fields = [f.name for f in Statement._meta.fields]

    def get_queryset(self, request):
        return Statement.objects.visible_to(request.user).select_related("community", "user")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StatementEmail)
class StatementEmailAdmin(admin.ModelAdmin):
    list_display = ("statement", "email", "created_at", "claimed_at", "sent_at", "attempts")
    readonly_fields = ("statement", "email", "message_id", "created_at", "claimed_at", "sent_at", "attempts",
                       "last_error")

    def get_queryset(self, request):
        return StatementEmail.objects.filter(
            statement__in=Statement.objects.managed_by(request.user)).select_related("statement")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
