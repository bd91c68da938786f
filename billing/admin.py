"""Back office: accounts, postings (with legs), payments, payouts and provider events are
read-only for everyone; admins get a "reverse posting" action that posts the correction
through `billing.ledger.posting_reverse` (audited)."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from billing import ledger
from billing.models import Account, Leg, Payment, Payout, Posting, ProviderEvent
from core.admin import ScopedAdmin, _is_admin
from core.exceptions import DomainError


class ReadOnlyAdmin(ScopedAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class LegInline(admin.TabularInline):
    model = Leg
    fields = ["account", "kind", "amount", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "user", "community", "provider", "currency", "balance", "held"]
    list_filter = ["kind", "currency"]
    search_fields = ["user__email", "community__name", "provider"]
    list_select_related = ["user", "community"]


@admin.register(Posting)
class PostingAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "reason", "currency", "community", "corrects", "created_at"]
    list_filter = ["kind"]
    search_fields = ["idempotency_key", "reason"]
    inlines = [LegInline]
    actions = ["reverse_postings"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not _is_admin(request.user):
            actions.pop("reverse_postings", None)
        return actions

    @admin.action(description=_("Reverse the selected postings (post corrections)"))
    def reverse_postings(self, request, queryset):
        if not _is_admin(request.user):
            self.message_user(request, _("Only administrators reverse postings."), messages.ERROR)
            return
        done = 0
        for posting in queryset:
            try:
                reversal = ledger.posting_reverse(posting=posting, actor=request.user)
                done += reversal.created
            except DomainError as exc:
                self.message_user(request, f"#{posting.pk}: {exc.message}", messages.ERROR)
        self.message_user(request, _("%(n)d correcting posting(s) created.") % {"n": done})


class EventInline(admin.TabularInline):
    model = ProviderEvent
    fields = ["provider", "event_id", "type", "outcome", "received_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["uuid", "user", "provider", "amount", "currency", "status", "created_at"]
    list_filter = ["status", "provider"]
    search_fields = ["uuid", "provider_ref", "user__email"]
    inlines = [EventInline]


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    list_display = ["uuid", "user", "provider", "amount", "currency", "status", "attempts", "created_at"]
    list_filter = ["status", "provider"]
    search_fields = ["uuid", "provider_ref", "user__email"]
    exclude = ["iban"]
    inlines = [EventInline]


@admin.register(ProviderEvent)
class ProviderEventAdmin(ReadOnlyAdmin):
    staff_roles = ()
    list_display = ["received_at", "provider", "type", "event_id", "outcome"]
    list_filter = ["provider", "type"]
    search_fields = ["event_id"]
