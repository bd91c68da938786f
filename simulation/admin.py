from django.contrib import admin

from core.admin import ScopedAdmin
from simulation.models import Scenario, ScenarioBattery, ScenarioMember, ScenarioPlant, SimulationRun


class MemberInline(admin.TabularInline):
    model = ScenarioMember
    extra = 0
    fields = ["key", "name", "membership", "user_type", "profile", "annual_kwh", "business"]
    readonly_fields = ["membership"]


class PlantInline(admin.TabularInline):
    model = ScenarioPlant
    extra = 0
    fields = ["name", "member", "lat", "lon", "kwp", "tilt_deg", "azimuth_deg", "losses_pct", "geo_zone"]


class BatteryInline(admin.TabularInline):
    model = ScenarioBattery
    extra = 0
    fields = [
        "name",
        "member",
        "capacity_kwh",
        "power_kw",
        "charge_efficiency",
        "discharge_efficiency",
        "soc_min_pct",
        "soc_max_pct",
        "soc_initial_pct",
    ]


class ManagedOnlyAdmin(ScopedAdmin):
    """The back office shows the scenarios and runs the user manages, not all they see: a
    referent who is only a member of another community must not read (or edit) its
    scenarios' members and euro amounts here (the API shows them the redacted results)."""

    def get_queryset(self, request):
        return super().get_queryset(request).managed_by(request.user)


@admin.register(Scenario)
class ScenarioAdmin(ManagedOnlyAdmin):
    list_display = [
        "name",
        "community",
        "regime",
        "start",
        "end",
        "resolution_minutes",
        "created_by",
        "created_at",
    ]
    list_filter = ["regime", "resolution_minutes"]
    search_fields = ["name"]
    readonly_fields = ["created_by", "created_at"]
    inlines = [MemberInline, PlantInline, BatteryInline]


@admin.register(SimulationRun)
class SimulationRunAdmin(ManagedOnlyAdmin):
    list_display = [
        "job",
        "scenario",
        "status",
        "progress_pct",
        "stage",
        "solver_status",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status"]
    search_fields = ["job", "scenario__name"]
    readonly_fields = [
        "job",
        "scenario",
        "created_by",
        "celery_task_id",
        "status",
        "progress_pct",
        "stage",
        "message",
        "cancel_requested",
        "solver_status",
        "timings",
        "summary",
        "created_at",
        "started_at",
        "finished_at",
    ]
    exclude = ["intervals_npz"]
