"""Back office of the settlement, scoped like everything else (`visible_to` to see,
`managed_by` to act): periods, runs with their lines (read-only), approve / post actions,
gap decisions, the official-curve import and GSE's yearly statements (with their import).
Every action calls the same service as the API, so the same rules hold (STYLE.md habit 15)."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from core.admin import ScopedAdmin
from core.exceptions import DomainError
from settlement import services
from settlement.curves import curves_import
from settlement.gse import COLUMNS, gse_statement_import
from settlement.models import (
    GapDecision,
    GseYearlyStatement,
    OfficialReading,
    SettlementLine,
    SettlementPeriod,
    SettlementRun,
)
from settlement.selectors import stale_true_ups


class ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class LineInline(ReadOnly, admin.TabularInline):
    model = SettlementLine
    fields = ["position", "kind", "rule", "membership", "plant", "user", "energy_kwh", "amount", "detail"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_view_permission(self, request, obj=None):
        # the parent admin decided who sees the run (ScopedAdmin: by role and scope)
        role = getattr(request.user, "role", None)
        return request.user.is_active and role in ("admin", "vendor", "referent")

    def get_queryset(self, request):
        return SettlementLine.objects.visible_to(request.user).select_related(
            "membership__user", "plant", "user"
        )


@admin.register(SettlementPeriod)
class SettlementPeriodAdmin(ReadOnly, ScopedAdmin):
    list_display = ["community", "month", "created_at"]
    list_filter = ["community"]
    actions = ["draft_runs"]

    @admin.action(description=_("Draft the run of the selected periods again"))
    def draft_runs(self, request, queryset):
        for period in queryset.select_related("community"):
            try:
                run = services.settlement_draft(
                    actor=request.user, community=period.community, month=period.month
                )
                self.message_user(
                    request, f"{period}: run {run.number} ({'new' if run.created else 'unchanged'})"
                )
            except DomainError as exc:
                self.message_user(request, f"{period}: {exc.message}", messages.ERROR)


@admin.register(SettlementRun)
class SettlementRunAdmin(ReadOnly, ScopedAdmin):
    list_display = [
        "id",
        "period",
        "number",
        "kind",
        "status",
        "regime",
        "created_at",
        "approved_by",
        "posted_by",
        "stale_display",
    ]
    list_filter = ["status", "kind", "regime"]
    list_select_related = ["period__community", "approved_by", "posted_by"]
    readonly_fields = [
        "period",
        "number",
        "kind",
        "status",
        "regime",
        "corrects",
        "inputs_hash",
        "result_hash",
        "data_quality",
        "totals",
        "error",
        "created_by",
        "created_at",
        "approved_by",
        "approved_at",
        "posted_by",
        "posted_at",
    ]
    inlines = [LineInline]
    actions = ["approve_runs", "post_runs"]

    @admin.display(description=_("Stale"), boolean=True)
    def stale_display(self, run):
        """A posted true-up a later month's run made stale (draft it again); else empty."""
        if run.kind != "true_up":
            return None
        return run.pk in stale_true_ups([run])

    def _act(self, request, queryset, service, done_label):
        for run in queryset:
            try:
                service(actor=request.user, run=run)
                self.message_user(request, f"{run}: {done_label}")
            except DomainError as exc:
                self.message_user(request, f"{run}: {exc.message} {exc.details or ''}", messages.ERROR)

    @admin.action(description=_("Approve the selected draft runs"))
    def approve_runs(self, request, queryset):
        self._act(request, queryset, services.settlement_approve, "approved")

    @admin.action(description=_("Post the selected approved runs to the ledger"))
    def post_runs(self, request, queryset):
        self._act(request, queryset, services.settlement_post, "posted")


class GapDecisionForm(forms.ModelForm):
    class Meta:
        model = GapDecision
        fields = ["period", "metering_point", "decision", "method"]


@admin.register(GapDecision)
class GapDecisionAdmin(ScopedAdmin):
    form = GapDecisionForm
    add_roles = ("vendor", "referent")
    list_display = ["period", "metering_point", "decision", "method", "decided_by", "decided_at"]
    list_select_related = ["period__community", "metering_point", "decided_by"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "period":
            kwargs["queryset"] = SettlementPeriod.objects.managed_by(request.user)
        if db_field.name == "metering_point":
            from communities.models import MeteringPoint

            kwargs["queryset"] = MeteringPoint.objects.managed_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        try:
            saved = services.gap_decide(
                actor=request.user,
                community=obj.period.community,
                month=obj.period.month,
                metering_point_id=obj.metering_point_id,
                decision=obj.decision,
                method=obj.method,
            )
        except DomainError as exc:
            raise PermissionDenied(exc.message) from None
        obj.pk = saved.pk


class CurveImportForm(forms.Form):
    file = forms.FileField(help_text="CSV: pod, interval_start, withdrawal_kwh, injection_kwh")


@admin.register(OfficialReading)
class OfficialReadingAdmin(ReadOnly, ScopedAdmin):
    list_display = [
        "metering_point",
        "interval_start",
        "withdrawal_kwh",
        "injection_kwh",
        "source",
        "imported_at",
    ]
    list_select_related = ["metering_point"]
    date_hierarchy = "interval_start"
    change_list_template = "admin/settlement/officialreading/change_list.html"

    def get_urls(self):
        view = self.admin_site.admin_view(self.import_view)
        return [path("import/", view, name="settlement_officialreading_import"), *super().get_urls()]

    def import_view(self, request):
        if not self.has_module_permission(request):
            raise PermissionDenied
        form, report = CurveImportForm(request.POST or None, request.FILES or None), None
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            data = upload.read(settings.SETTLEMENT_IMPORT_MAX_MB * 1024 * 1024 + 1)
            try:
                if len(data) > settings.SETTLEMENT_IMPORT_MAX_MB * 1024 * 1024:
                    raise DomainError(f"File larger than {settings.SETTLEMENT_IMPORT_MAX_MB} MB.")
                # the service imports only rows of metering points this user manages
                report = curves_import(actor=request.user, data=data, source=upload.name)
            except DomainError as exc:
                form.add_error("file", f"{exc.message} Nothing imported.")
            else:
                messages.success(
                    request, f"{report['imported']} readings imported, {len(report['refused'])} refused."
                )
        context = {
            **self.admin_site.each_context(request),
            "title": "Import official curves",
            "form": form,
            "report": report,
            "opts": self.model._meta,
            "changelist_url": reverse("admin:settlement_officialreading_changelist"),
        }
        return TemplateResponse(request, "admin/settlement/officialreading/import.html", context)


class GseImportForm(forms.Form):
    community = forms.ModelChoiceField(queryset=None, label=_("Community"))
    file = forms.FileField(label=_("File"), help_text="CSV: " + ", ".join(COLUMNS) + "[, advances_eur]")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        from communities.models import Community

        # only the communities this user manages: the service checks again
        self.fields["community"].queryset = Community.objects.managed_by(user).order_by("name")


@admin.register(GseYearlyStatement)
class GseYearlyStatementAdmin(ReadOnly, ScopedAdmin):
    list_display = ["community", "year", "configuration", "incentivised_kwh", "tip_eur", "valorisation_eur",
                    "excess_premium_eur", "advances_eur", "imported_at"]
    list_filter = ["year"]
    list_select_related = ["community"]
    change_list_template = "admin/settlement/gseyearlystatement/change_list.html"

    def get_urls(self):
        view = self.admin_site.admin_view(self.import_view)
        return [path("import/", view, name="settlement_gseyearlystatement_import"), *super().get_urls()]

    def import_view(self, request):
        if not self.has_module_permission(request):
            raise PermissionDenied
        form = GseImportForm(request.POST or None, request.FILES or None, user=request.user)
        report = None
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            limit = settings.SETTLEMENT_IMPORT_MAX_MB * 1024 * 1024
            data = upload.read(limit + 1)
            try:
                if len(data) > limit:
                    raise DomainError(f"File larger than {settings.SETTLEMENT_IMPORT_MAX_MB} MB.")
                report = gse_statement_import(actor=request.user, community=form.cleaned_data["community"],
                                              data=data, source=upload.name)
            except DomainError as exc:
                details = "; ".join(str(d) for d in (exc.details or {}).get("file", []))
                form.add_error("file", f"{exc.message} {details}".strip())
            else:
                messages.success(request, _("GSE statement %(year)s imported.") % {"year": report["year"]})
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import GSE's yearly statement"),
            "form": form,
            "report": report,
            "opts": self.model._meta,
            "changelist_url": reverse("admin:settlement_gseyearlystatement_changelist"),
        }
        status = 400 if request.method == "POST" and form.errors else 200
        template = "admin/settlement/gseyearlystatement/import.html"
        return TemplateResponse(request, template, context, status=status)
