"""Back office of plants and their assets, scoped like the communities they belong to."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from communities.admin_base import CommunityScopedAdmin, ScopedImportExportMixin, ScopedInline
from plants.models import Asset, Plant, PlantStatus
from plants.resources import PlantResource
from plants.services import REGIME_ITEM_KEYS, plant_problems, plant_set_status


class AssetInline(ScopedInline):
    model = Asset
    fields = ("kind", "manufacturer", "model", "serial", "capacity_kwh", "power_kw", "round_trip_efficiency",
              "soc_min_pct", "soc_max_pct", "installed_on")
    parent_community_path = "community"

    def has_delete_permission(self, request, obj=None):
        return self._may_write(request, obj)


class PlantForm(forms.ModelForm):
    class Meta:
        model = Plant
        fields = ("name", "owner", "community", "metering_point", "location", "site", "capacity_kwp",
                  "tilt_deg", "azimuth_deg", "losses_pct", "technology", "inverter_power_kw",
                  "commissioned_on", "status")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        linked = ("community", "metering_point", "location", "site", "owner", "capacity_kwp", "name",
                  "status")
        probe = Plant(pk=self.instance.pk, **{f: data.get(f) for f in linked})
        for field, errors in plant_problems(probe).items():
            if field not in REGIME_ITEM_KEYS:  # machine-readable; the message is on a field
                self.add_error(field if field in self.fields else None, errors)
        return data


@admin.register(Plant)
class PlantAdmin(ScopedImportExportMixin, CommunityScopedAdmin):
    form = PlantForm
    resource_classes = [PlantResource]
    list_display = ("name", "community", "owner", "capacity_kwp", "technology", "status", "commissioned_on")
    list_filter = ("status", "technology", "community")
    search_fields = ("name", "owner__email", "metering_point__code")
    list_select_related = ("community", "owner")
    date_hierarchy = "commissioned_on"
    inlines = [AssetInline]
    actions = ["set_operating", "set_maintenance", "set_decommissioned"]

    def _set(self, request, queryset, status):
        mine = [p for p in queryset.select_related("community") if self._manages(request, p)]
        n = plant_set_status(plants=mine, status=status)
        self.message_user(request, _("%(n)d plants set to %(status)s.") % {"n": n, "status": status})

    @admin.action(description=_("Set selected plants operating"))
    def set_operating(self, request, queryset):
        self._set(request, queryset, PlantStatus.OPERATING)

    @admin.action(description=_("Set selected plants in maintenance"))
    def set_maintenance(self, request, queryset):
        self._set(request, queryset, PlantStatus.MAINTENANCE)

    @admin.action(description=_("Set selected plants decommissioned"))
    def set_decommissioned(self, request, queryset):
        self._set(request, queryset, PlantStatus.DECOMMISSIONED)


@admin.register(Asset)
class AssetAdmin(CommunityScopedAdmin):
    community_path = "plant__community"
    list_display = ("__str__", "plant", "kind", "serial", "capacity_kwh", "power_kw", "installed_on")
    list_filter = ("kind", "plant__community")
    search_fields = ("serial", "manufacturer", "model", "plant__name")
    list_select_related = ("plant",)
