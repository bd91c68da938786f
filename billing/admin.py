"""Back office: accounts, postings (with legs), payments, payouts and provider events are
read-only for everyone; admins get a "reverse posting" action that posts the correction
through `billing.ledger.posting_reverse` (audited). Receivables (what members owe) are
read-only too, with two actions for the community's referents and admins that go through
`billing.receivables.receivable_settle` (audited): paid outside the platform, written off."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from billing import ledger, receivables
from billing.models import (
    Account,
    Leg,
    Payment,
    Payout,
    Posting,
    ProviderEvent,
    Receivable,
    ReceivableEntry,
    ReceivableStatus,
)
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


class ReceivableEntryInline(admin.TabularInline):
    model = ReceivableEntry
    fields = ["kind", "amount", "posting", "settlement_run_id", "settlement_line_id", "actor", "note",
              "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Receivable)
class ReceivableAdmin(ReadOnlyAdmin):
    list_display = ["id", "user", "community", "currency", "owed_display", "status_display", "created_at"]
    list_filter = ["currency"]
    search_fields = ["user__email", "community__name"]
    list_select_related = ["user", "community", "account"]
    inlines = [ReceivableEntryInline]
    actions = ["settle_outside_payment", "settle_write_off"]

    @admin.display(description=_("Owed"), ordering="account__balance")
    def owed_display(self, obj):
        return obj.owed

    @admin.display(description=_("Status"))
    def status_display(self, obj):
        return ReceivableStatus(obj.status).label

    def _settle(self, request, queryset, method: str, note: str):
        done = 0
        for receivable in queryset:
            if not receivable.owed:
                continue
            try:
                receivables.receivable_settle(actor=request.user, receivable_id=receivable.pk, method=method,
                                              note=note)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"#{receivable.pk}: {exc.message}", messages.ERROR)
        self.message_user(request, _("%(n)d receivable(s) settled.") % {"n": done})

    @admin.action(description=_("Mark what the selected members owe as paid outside the platform"))
    def settle_outside_payment(self, request, queryset):
        self._settle(request, queryset, "outside_payment", _("Paid outside the platform (back office)"))

    @admin.action(description=_("Write off what the selected members owe (from the community fund)"))
    def settle_write_off(self, request, queryset):
        self._settle(request, queryset, "write_off", _("Written off in the back office"))
