"""Back office: the imported allocation data (read-only lists) and the two import forms.
The forms call the same services as the API and the commands; the community choice lists
only communities the user manages; a bad file answers 400 with the form's errors and
writes nothing."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from allocations.importing import MAX_BYTES
from allocations.models import AllocationShare, EdaValue
from allocations.services import allocation_keys_import, eda_import
from communities.models import Community, Regime
from core.admin import ScopedAdmin
from core.exceptions import DomainError


class ImportForm(forms.Form):
    community = forms.ModelChoiceField(queryset=Community.objects.none(), label=_("Community"))
    file = forms.FileField(label=_("CSV file"))

    def __init__(self, *args, user, regime, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = Community.objects.managed_by(user).filter(regime=regime)


class _ImportAdmin(ScopedAdmin):
    change_list_template = "admin/allocations/change_list.html"
    import_service = None
    regime = ""
    import_title = ""
    import_help = ""

    def has_add_permission(self, request):
        return False  # rows come from imports

    def has_change_permission(self, request, obj=None):
        return False

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        view = self.admin_site.admin_view(self.import_view)
        return [path("import/", view, name=f"{info[0]}_{info[1]}_import"), *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        info = self.model._meta.app_label, self.model._meta.model_name
        extra = {**(extra_context or {}), "import_url": reverse(f"admin:{info[0]}_{info[1]}_import"),
                 "import_title": self.import_title}
        return super().changelist_view(request, extra_context=extra)

    def import_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None, user=request.user, regime=self.regime)
        report, code = None, 200
        if request.method == "POST":
            if form.is_valid():
                upload = form.cleaned_data["file"]
                try:
                    report = type(self).import_service(
                        actor=request.user, community=form.cleaned_data["community"],
                        data=upload.read(MAX_BYTES + 1), filename=upload.name)
                except DomainError as exc:
                    form.add_error("file", exc.message)
                    for line in exc.details.get("file", [])[1:]:
                        form.add_error("file", line)
                else:
                    messages.success(request, report.summary())
            if form.errors:
                code = 400
        info = self.model._meta.app_label, self.model._meta.model_name
        context = {**self.admin_site.each_context(request), "title": self.import_title, "form": form,
                   "report": report, "opts": self.model._meta, "help": self.import_help,
                   "changelist_url": reverse(f"admin:{info[0]}_{info[1]}_changelist")}
        return TemplateResponse(request, "admin/allocations/import.html", context, status=code)


@admin.register(AllocationShare)
class AllocationShareAdmin(_ImportAdmin):
    list_display = ("community", "interval_start", "producer", "consumer", "share", "source", "imported_at")
    list_filter = ("community",)
    list_select_related = ("community", "producer", "consumer")
    date_hierarchy = "interval_start"
    import_service = staticmethod(allocation_keys_import)
    regime = Regime.FR_ACC
    import_title = _("Import French allocation keys")
    import_help = _("CSV interval_start,consumer,producer,share: ISO 8601 times with their offset on a "
                    "15-minute boundary, PRM codes of the community, shares 0 to 1; an empty producer is "
                    "a simple dynamic share, a producer makes it a full dynamic coefficient. Importing the "
                    "same file twice changes nothing.")


@admin.register(EdaValue)
class EdaValueAdmin(_ImportAdmin):
    list_display = ("community", "interval_start", "metering_point", "measured_kwh", "community_share_kwh",
                    "self_coverage_kwh", "surplus_kwh", "source")
    list_filter = ("community",)
    list_select_related = ("community", "metering_point")
    date_hierarchy = "interval_start"
    import_service = staticmethod(eda_import)
    regime = Regime.AT_EEG
    import_title = _("Import EDA allocations (Austria)")
    import_help = _("CSV metering_point,interval_start,G.01,G.02,G.03,P.01 in kWh per quarter hour "
                    "(G.02, G.03, P.01 may be empty). Importing the same file twice changes nothing.")
