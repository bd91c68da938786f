"""The back office of prices and tariffs.

Band schemes and market prices are platform data: every staff member reads them, only
admins change them (prices arrive through the import form, `prices_import` or the demo).
Tariffs belong to a community: those who manage it add and change them, through
`tariff_save` like every other interface.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse

from communities.admin_base import CommunityScopedAdmin, managed_ids
from core.admin import ScopedAdmin
from core.exceptions import DomainError
from pricing.models import BandRule, BandScheme, MarketPrice, Tariff, TariffBandPrice
from pricing.services import prices_import, tariff_save


def _is_admin(request) -> bool:
    return request.user.is_active and request.user.is_platform_admin


class AdminOnlyChanges:
    """Staff read; only platform admins add, change or delete."""

    def has_add_permission(self, request, obj=None):
        return _is_admin(request)

    def has_change_permission(self, request, obj=None):
        return _is_admin(request)

    def has_delete_permission(self, request, obj=None):
        return _is_admin(request)


class BandRuleInline(AdminOnlyChanges, admin.TabularInline):
    model = BandRule
    extra = 0
    fields = ["position", "band", "weekdays", "hour_from", "hour_to", "months", "holidays"]

    def has_view_permission(self, request, obj=None):
        return request.user.is_staff


@admin.register(BandScheme)
class BandSchemeAdmin(AdminOnlyChanges, ScopedAdmin):
    list_display = ["name", "code", "version", "holiday_country", "default_band"]
    inlines = [BandRuleInline]


class TariffBandPriceFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        tariff = self.instance
        if tariff.kind != "tou" or tariff.band_scheme_id is None:
            return
        bands = [f.cleaned_data.get("band") for f in self.forms
                 if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        expected = set(tariff.band_scheme.bands())
        unknown = sorted(b for b in bands if b not in expected)
        if unknown:
            raise forms.ValidationError(f"Not a band of {tariff.band_scheme}: {', '.join(unknown)}.")
        if len(bands) != len(set(bands)):
            raise forms.ValidationError("One price per band.")
        missing = sorted(expected - set(bands))
        if missing:
            raise forms.ValidationError(f"Price every band of the scheme; missing: {', '.join(missing)}.")


class TariffBandPriceInline(admin.TabularInline):
    model = TariffBandPrice
    formset = TariffBandPriceFormSet
    extra = 0
    fields = ["band", "price_eur_per_kwh"]

    def _may_write(self, request, obj) -> bool:
        if _is_admin(request):
            return True
        if request.user.role not in ("vendor", "referent"):
            return False
        return obj is None or obj.community_id in managed_ids(request)

    def has_view_permission(self, request, obj=None):
        return request.user.is_staff

    def has_add_permission(self, request, obj=None):
        return self._may_write(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._may_write(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._may_write(request, obj)


@admin.register(Tariff)
class TariffAdmin(CommunityScopedAdmin):
    list_display = ["name", "community", "membership", "kind", "valid_from", "valid_to"]
    list_filter = ["kind", "community"]
    list_select_related = ["community", "membership__user"]
    search_fields = ["name", "community__name"]
    inlines = [TariffBandPriceInline]
    delete_roles = ("vendor", "referent")

    def save_model(self, request, obj, form, change):
        try:
            tariff_save(actor=request.user, tariff=obj)
        except DomainError as exc:
            # The form's own validation (model.clean) catches overlaps first; this is the
            # race with a concurrent save, or a scope change under the user's feet.
            raise PermissionDenied(exc.message) from None


class PriceImportForm(forms.Form):
    file = forms.FileField(
        help_text="CSV (zone,interval_start,price_eur_per_mwh[,resolution]) or GME MGP XML")
    format = forms.ChoiceField(choices=[("", "From the file name"), ("csv", "CSV"), ("gme_xml", "GME XML")],
                               required=False)


@admin.register(MarketPrice)
class MarketPriceAdmin(ScopedAdmin):
    list_display = ["market_zone", "interval_start", "resolution_minutes", "price_eur_per_mwh", "source",
                    "updated_at"]
    list_filter = ["market_zone", "resolution_minutes", "source", "interval_start"]
    date_hierarchy = "interval_start"
    change_list_template = "admin/pricing/marketprice/change_list.html"

    def has_add_permission(self, request):
        return False  # prices come from imports

    def has_change_permission(self, request, obj=None):
        return False

    def get_urls(self):
        view = self.admin_site.admin_view(self.import_view)
        return [path("import/", view, name="pricing_marketprice_import"), *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra = {**(extra_context or {}), "may_import": _is_admin(request)}
        return super().changelist_view(request, extra_context=extra)

    def import_view(self, request):
        if not _is_admin(request):
            raise PermissionDenied
        form, report = PriceImportForm(request.POST or None, request.FILES or None), None
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            # never read more than the service accepts (it refuses the oversize file anyway)
            data = upload.read(settings.PRICING_IMPORT_MAX_MB * 1024 * 1024 + 1)
            try:
                report = prices_import(actor=request.user, data=data, filename=upload.name,
                                       fmt=form.cleaned_data["format"] or None)
            except DomainError as exc:
                form.add_error("file", f"{exc.message} Nothing imported.")
            else:
                messages.success(request, report.summary())
        context = {**self.admin_site.each_context(request), "title": "Import market prices", "form": form,
                   "report": report, "opts": self.model._meta,
                   "changelist_url": reverse("admin:pricing_marketprice_changelist")}
        return TemplateResponse(request, "admin/pricing/marketprice/import.html", context)
