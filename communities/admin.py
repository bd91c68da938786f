"""Back office of communities: scoped to the user's communities (see admin_base)."""

from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization, Role
from communities.admin_base import (
    CommunityScopedAdmin,
    ReferenceDataAdmin,
    ScopedImportExportMixin,
    ScopedInline,
)
from communities.eligibility import metering_point_problems
from communities.models import (
    Community,
    CommunityStatus,
    Configuration,
    EnergyTransaction,
    Membership,
    MeteringPoint,
    ParticipationFactor,
    RegimeParameters,
    SubstationArea,
    TransactionStatus,
)
from communities.quarter_hours import local_iso, local_midnight
from communities.resources import MembershipResource, MeteringPointResource
from communities.selectors import community_outside_report, member_count_subquery
from communities.services import (
    factor_change_window,
    membership_factor_change,
    membership_leave,
    membership_rules_check,
    participation_factor_check,
    transaction_problems,
)
from core.exceptions import DomainError


class MembershipInline(ScopedInline):
    model = Membership
    fields = ("user", "member_type", "role", "participation_factor_pct", "network_level", "joined_at",
              "left_at", "status")
    # a factor changes from a date (its history): on the membership's own page
    readonly_fields = ("participation_factor_pct",)
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        # Staff enrol people by invitation (API or import), never by picking an account.
        return request.user.is_platform_admin


@admin.register(Community)
class CommunityAdmin(CommunityScopedAdmin):
    community_path = "self"
    add_roles = ("vendor",)
    list_display = ("name", "slug", "organization", "regime", "market_zone", "primary_substation",
                    "status", "current_members")
    list_filter = ("regime", "status", "market_zone", "organization")
    search_fields = ("name", "slug", "primary_substation")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("referents",)
    readonly_fields = ("metering_points_overview", "created_at", "updated_at")
    inlines = [MembershipInline]
    actions = ["make_active", "make_closed"]
    fieldsets = (
        (None, {"fields": ("name", "slug", "organization", "regime", "status", "referents")}),
        ("Geography", {"fields": ("boundary", "primary_substation", "market_zone", "time_zone", "currency")}),
        ("Regime rules (France, Austria)", {"fields": ("public_body_single_epci", "eeg_scope")}),
        ("Metering points of current members", {"fields": ("metering_points_overview",)}),
        ("Dates", {"fields": ("created_at", "updated_at")}),
    )

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or not self._manages(request, obj):
            # the PODs list is other members' data: only for those who manage the community
            fieldsets = [fs for fs in fieldsets if "metering_points_overview" not in fs[1]["fields"]]
        return fieldsets

    def get_queryset(self, request):
        # a subquery, not Count(): the scope's joins (referents) could multiply the rows
        return super().get_queryset(request).annotate(n_members=Coalesce(member_count_subquery(), 0))

    @admin.display(description=_("members"), ordering="n_members")
    def current_members(self, obj):
        return obj.n_members

    @admin.display(description=_("metering points"))
    def metering_points_overview(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        points = MeteringPoint.objects.filter(membership__community=obj, membership__left_at__isnull=True)
        points = points.select_related("membership__user").order_by("code")
        if not points:
            return "none yet"
        rows = format_html_join(
            "", "<tr><td><a href='{}'>{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((reverse("admin:communities_meteringpoint_change", args=[p.pk]), p.code, p.membership.user,
              p.get_direction_display(), p.primary_substation) for p in points),
        )
        return format_html("<table><tr><th>POD</th><th>member</th><th>direction</th><th>substation</th>"
                           "</tr>{}</table>", rows)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "organization" and not request.user.is_platform_admin:
            kwargs["queryset"] = Organization.objects.filter(pk=request.user.organization_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "referents" and not request.user.is_platform_admin:
            from accounts.models import User

            kwargs["queryset"] = User.objects.visible_to(request.user).filter(role=Role.REFERENT)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if change and {"boundary", "primary_substation"} & set(form.changed_data):
            report = community_outside_report(community=form.instance)
            outside = [p["code"] for p in report["metering_points"]] + [p["name"] for p in report["plants"]]
            if outside:
                self.message_user(
                    request,
                    _("Now outside the boundary or under another substation (kept, please review): %(items)s")
                    % {"items": ", ".join(outside)}, messages.WARNING)

    @admin.action(description=_("Mark selected communities active"))
    def make_active(self, request, queryset):
        n = queryset.filter(pk__in=self._managed_pks(request)).update(status=CommunityStatus.ACTIVE)
        self.message_user(request, _("%(n)d communities marked active.") % {"n": n})

    @admin.action(description=_("Mark selected communities closed"))
    def make_closed(self, request, queryset):
        n = queryset.filter(pk__in=self._managed_pks(request)).update(status=CommunityStatus.CLOSED)
        self.message_user(request, _("%(n)d communities closed.") % {"n": n})

    def _managed_pks(self, request):
        return Community.objects.managed_by(request.user).values("pk")


class MeteringPointInline(ScopedInline):
    model = MeteringPoint
    fields = ("code", "location", "primary_substation", "market_zone", "direction", "meter_serial",
              "is_smart_meter")
    parent_community_path = "community"
    show_change_link = True


class ParticipationFactorInline(admin.TabularInline):
    """The factor's dated history, read-only: a change goes through the form above."""

    model = ParticipationFactor
    fields = ("factor_pct", "valid_from_local", "valid_to_local", "created_at")
    readonly_fields = fields
    extra = 0

    @admin.display(description=_("valid from"))
    def valid_from_local(self, obj):
        # in the community's zone, with its offset (a DST day's repeated hour stays readable)
        return local_iso(obj.valid_from, obj.membership.community.time_zone)

    @admin.display(description=_("valid to"))
    def valid_to_local(self, obj):
        return local_iso(obj.valid_to, obj.membership.community.time_zone) or "-"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("membership__community")

    def has_view_permission(self, request, obj=None):
        return request.user.is_staff

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CurrentFilter(admin.SimpleListFilter):
    title = _("current")
    parameter_name = "current"

    def lookups(self, request, model_admin):
        return [("yes", "Current members"), ("no", "Left")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(left_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(left_at__isnull=False)
        return queryset


def factor_valid_from(membership: Membership, data: dict):
    """The form's "factor valid from" (text: a day or a quarter-hour date-time), else today
    in the community's zone."""
    return (data.get("factor_valid_from") or "").strip() or timezone.localdate(
        timezone=ZoneInfo(membership.community.time_zone))


class MembershipAdminForm(forms.ModelForm):
    """The back office keeps the rules `membership_create` keeps (one current membership per
    community, Austria's factors at most 100 % per person), checked under the same lock on
    the person's row: the admin's change view runs clean() and save() in one transaction.
    A changed factor is recorded as a new version from `factor_valid_from` (default today)
    by `membership_factor_change` (`MembershipAdmin.save_model`)."""

    factor_valid_from = forms.CharField(
        label=_("factor valid from"), required=False, max_length=40,
        help_text=_("When a changed participation factor applies from: a day (from its midnight) or a "
                    "date-time on the quarter hour, e.g. 2025-03-10 10:15, in the community's time zone "
                    "(empty: today)."),
    )

    class Meta:
        model = Membership
        fields = ("user", "community", "member_type", "role", "participation_factor_pct", "network_level",
                  "joined_at", "left_at", "status")

    def clean(self):
        data = super().clean()
        user, community = data.get("user"), data.get("community")
        factor = data.get("participation_factor_pct")
        if user is None or community is None or factor is None or data.get("left_at"):
            return data
        try:
            membership_rules_check(user=user, community=community, participation_factor_pct=factor,
                                   exclude_pk=self.instance.pk)
            if self.instance.pk and "participation_factor_pct" in self.changed_data:
                start, end = factor_change_window(membership=self.instance,
                                                  valid_from=factor_valid_from(self.instance, data))
                participation_factor_check(user=user, participation_factor_pct=factor, start=start, end=end,
                                           exclude_pk=self.instance.pk,
                                           time_zone=self.instance.community.time_zone)
        except DomainError as exc:
            for field, errors in exc.details.items():
                field = "factor_valid_from" if field == "valid_from" else field
                self.add_error(field if field in self.fields else None, errors)
        return data


@admin.register(Membership)
class MembershipAdmin(ScopedImportExportMixin, CommunityScopedAdmin):
    form = MembershipAdminForm
    resource_classes = [MembershipResource]
    list_display = ("user", "community", "member_type", "role", "participation_factor_pct", "joined_at",
                    "left_at", "status")
    list_filter = (CurrentFilter, "status", "member_type", "role", "community")
    search_fields = ("user__email", "user__full_name", "community__name")
    list_select_related = ("user", "community")
    date_hierarchy = "joined_at"
    inlines = [MeteringPointInline, ParticipationFactorInline]
    actions = ["mark_left"]

    def get_inlines(self, request, obj):
        # a new membership has no history yet (its first version is written on save)
        return self.inlines if obj is not None else [MeteringPointInline]

    def save_model(self, request, obj, form, change):
        changed = change and "participation_factor_pct" in form.changed_data
        factor = obj.participation_factor_pct
        if changed:
            # the service writes the new value with its version; the row keeps the old one until then
            obj.participation_factor_pct = form.initial["participation_factor_pct"]
        super().save_model(request, obj, form, change)
        if changed:
            membership_factor_change(actor=request.user, membership=obj, participation_factor_pct=factor,
                                     valid_from=factor_valid_from(obj, form.cleaned_data))
            obj.refresh_from_db()
        elif not change:
            first = local_midnight(obj.joined_at, obj.community.time_zone)
            ParticipationFactor.objects.create(membership=obj, factor_pct=obj.participation_factor_pct,
                                               valid_from=first)

    def has_delete_permission(self, request, obj=None):
        return False  # history: leaving sets left_at, rows are never deleted

    def has_add_permission(self, request):
        # Staff enrol people by invitation (the API, or the import below), never by picking
        # an existing account in a form (issue 8: no account is enrolled without consent).
        return request.user.is_platform_admin

    def has_import_permission(self, request):
        return super().has_add_permission(request)  # rows become invitations

    @admin.action(description=_("Mark selected memberships as left today"))
    def mark_left(self, request, queryset):
        done = 0
        for membership in queryset.filter(left_at__isnull=True):
            if not self._manages(request, membership):
                continue
            try:
                membership_leave(membership=membership)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{membership}: {exc.message}", messages.ERROR)
        self.message_user(request, _("%(n)d memberships marked as left.") % {"n": done})


class MeteringPointForm(forms.ModelForm):
    class Meta:
        model = MeteringPoint
        fields = ("code", "membership", "location", "primary_substation", "market_zone", "direction",
                  "meter_serial", "is_smart_meter", "municipality_class")

    def clean(self):
        data = super().clean()
        membership = data.get("membership")
        if membership is not None:
            if data.get("code"):
                data["code"] = data["code"].strip().upper()
            problems = metering_point_problems(
                membership.community, location=data.get("location"),
                primary_substation=data.get("primary_substation"),
                market_zone=data.get("market_zone") or None,
                municipality_class=data.get("municipality_class") or "", exclude_point=self.instance.pk,
            )
            problems.pop("perimeter", None)  # its message is on "location"
            for field, errors in problems.items():
                self.add_error(field, errors)
        return data


@admin.register(MeteringPoint)
class MeteringPointAdmin(ScopedImportExportMixin, CommunityScopedAdmin):
    form = MeteringPointForm
    resource_classes = [MeteringPointResource]
    community_path = "membership__community"
    list_display = ("code", "membership", "community_name", "primary_substation", "market_zone", "direction",
                    "is_smart_meter")
    list_filter = ("direction", "market_zone", "is_smart_meter", "membership__community")
    search_fields = ("code", "meter_serial", "membership__user__email", "primary_substation")
    list_select_related = ("membership__community", "membership__user")

    @admin.display(description=_("community"), ordering="membership__community__name")
    def community_name(self, obj):
        return obj.membership.community


@admin.register(Configuration)
class ConfigurationAdmin(CommunityScopedAdmin):
    list_display = ("name", "community", "regime_parameters", "allocation_key", "producers_pct",
                    "consumers_pct", "fund_pct", "valid_from", "valid_to", "status")
    list_filter = ("status", "allocation_key", "community")
    search_fields = ("name", "community__name")
    list_select_related = ("community", "regime_parameters")


class EnergyTransactionForm(forms.ModelForm):
    class Meta:
        model = EnergyTransaction
        fields = ("community", "from_membership", "to_membership", "energy_kwh", "unit_price_eur_per_kwh",
                  "interval_start", "interval_end", "status")

    def clean(self):
        data = super().clean()
        new_status = data.get("status", TransactionStatus.PENDING)
        if self.instance.pk is None and new_status != TransactionStatus.PENDING:
            # a transaction is born pending; settling is an action on an existing one
            self.add_error("status", "A new transaction is pending; settle it afterwards.")
        if data.get("community") is None:
            return data
        problems = transaction_problems(**{k: data.get(k) for k in (
            "community", "from_membership", "to_membership", "energy_kwh", "unit_price_eur_per_kwh",
            "interval_start", "interval_end")})
        for field, errors in problems.items():
            self.add_error(field, errors)
        return data


@admin.register(EnergyTransaction)
class EnergyTransactionAdmin(CommunityScopedAdmin):
    form = EnergyTransactionForm
    list_display = ("interval_start", "community", "from_membership", "to_membership", "energy_kwh",
                    "unit_price_eur_per_kwh", "status")
    list_filter = ("status", "community")
    search_fields = ("from_membership__user__email", "to_membership__user__email")
    date_hierarchy = "interval_start"
    list_select_related = ("community", "from_membership__user", "to_membership__user")
    actions = ["mark_settled", "mark_cancelled"]

    def _set_status(self, request, queryset, status):
        managed = EnergyTransaction.objects.managed_by(request.user).values("pk")
        return queryset.filter(pk__in=managed, status=TransactionStatus.PENDING).update(status=status)

    @admin.action(description=_("Mark selected pending transactions settled"))
    def mark_settled(self, request, queryset):
        n = self._set_status(request, queryset, TransactionStatus.SETTLED)
        self.message_user(request, _("%(n)d settled.") % {"n": n})

    @admin.action(description=_("Cancel selected pending transactions"))
    def mark_cancelled(self, request, queryset):
        n = self._set_status(request, queryset, TransactionStatus.CANCELLED)
        self.message_user(request, _("%(n)d cancelled.") % {"n": n})


@admin.register(RegimeParameters)
class RegimeParametersAdmin(ReferenceDataAdmin):
    list_display = ("regime", "version", "valid_from", "valid_to", "source")
    list_filter = ("regime",)
    search_fields = ("version", "source")


@admin.register(SubstationArea)
class SubstationAreaAdmin(ReferenceDataAdmin):
    list_display = ("code", "name", "source", "imported_at")
    search_fields = ("code", "name")
