"""Back office of the market: offers, allocations, deliveries and suspensions, read-only and
scoped to the staff member's communities (`visible_to`). Offers and allocations are made
by members in the portal or the API; the admin's one action withdraws offers through
`market.services.offer_withdraw` (admins only, as the host's decision otherwise)."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from core.admin import ScopedAdmin, _is_admin
from core.exceptions import DomainError
from market import services
from market.models import Allocation, Delivery, Offer, Suspension


class ReadOnlyScopedAdmin(ScopedAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Offer)
class OfferAdmin(ReadOnlyScopedAdmin):
    list_display = [
        "id",
        "community",
        "host",
        "metering_point",
        "price_eur_per_kwh",
        "valid_from",
        "valid_to",
        "cap_kwh",
        "delivered_kwh",
        "status",
    ]
    list_filter = ["status", "community"]
    search_fields = ["host__email", "metering_point__code"]
    list_select_related = ["community", "host", "metering_point"]
    actions = ["withdraw_offers"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not _is_admin(request.user):
            actions.pop("withdraw_offers", None)
        return actions

    @admin.action(description=_("Withdraw the selected offers"))
    def withdraw_offers(self, request, queryset):
        done = 0
        for offer in queryset:
            try:
                services.offer_withdraw(actor=request.user, offer_id=offer.pk)
                done += 1
            except DomainError as exc:
                messages.error(request, f"#{offer.pk}: {exc.message}")
        messages.success(request, _("%(n)s offers withdrawn.") % {"n": done})


@admin.register(Allocation)
class AllocationAdmin(ReadOnlyScopedAdmin):
    list_display = [
        "id",
        "offer",
        "buyer",
        "metering_point",
        "max_kwh",
        "delivered_kwh",
        "status",
        "created_at",
        "ended_at",
    ]
    list_filter = ["status"]
    search_fields = ["buyer__email", "metering_point__code"]
    list_select_related = ["offer", "buyer", "metering_point"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyScopedAdmin):
    list_display = [
        "id",
        "interval_start",
        "community",
        "host",
        "buyer",
        "energy_kwh",
        "price_eur_per_kwh",
        "amount_eur",
        "fee_eur",
        "posting",
    ]
    list_filter = ["community"]
    search_fields = ["buyer__email", "host__email"]
    list_select_related = ["community", "host", "buyer", "posting"]
    date_hierarchy = "interval_start"


@admin.register(Suspension)
class SuspensionAdmin(ReadOnlyScopedAdmin):
    list_display = [
        "id",
        "allocation",
        "interval_start",
        "energy_kwh",
        "amount_due_eur",
        "reason",
        "reported_at",
    ]
    list_select_related = ["allocation"]
