"""What-if scenarios and their simulation runs.

A scenario belongs to a community (visible like the community) or is a standalone
prospect (visible to its creator and to the staff of its organization). Energy in kWh,
power in kW, money in Decimal EUR.
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from core.scoping import ScopedQuerySet


def _standalone_of(user) -> Q:
    """Standalone prospects: their creator's, and a vendor's organization's."""
    from accounts.models import Role

    mine = Q(created_by=user)
    if user.role == Role.VENDOR and user.organization_id:
        mine |= Q(organization_id=user.organization_id) & Q(organization__isnull=False)
    return Q(community__isnull=True) & mine


class ScenarioQuerySet(ScopedQuerySet):
    def _scope(self, user):
        """A community's scenarios are visible like the community (its members read them)."""
        from communities.models import Community

        return self.filter(Q(community__in=Community.objects.visible_to(user)) | _standalone_of(user))

    def _manage_scope(self, user):
        """Run, re-run and cancel: the community's managers; for a prospect, who sees it."""
        from communities.models import Community

        return self.filter(Q(community__in=Community.objects.managed_by(user)) | _standalone_of(user))


class Resolution(models.IntegerChoices):
    HOURLY = 60, "Hourly"
    QUARTER_HOUR = 15, "15 minutes"


class Scenario(models.Model):
    name = models.CharField(max_length=200)
    community = models.ForeignKey(
        "communities.Community", on_delete=models.CASCADE, null=True, blank=True, related_name="scenarios"
    )
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, null=True, blank=True, related_name="scenarios"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="scenarios"
    )
    regime = models.CharField(max_length=16, default="it_cer")
    regime_parameters = models.ForeignKey(
        "communities.RegimeParameters",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text="Empty: the parameter set valid at the start, else DOMAIN.md's 2024 figures.",
    )
    regime_overrides = models.JSONField(default=dict, blank=True)
    start = models.DateTimeField()
    end = models.DateTimeField(help_text="Exclusive.")
    resolution_minutes = models.PositiveSmallIntegerField(
        choices=Resolution.choices, default=Resolution.HOURLY
    )
    time_zone = models.CharField(max_length=64, default="Europe/Rome")
    seed = models.IntegerField(default=1)
    tariffs = models.JSONField(
        default=dict,
        blank=True,
        help_text="buy_eur_per_kwh {F1,F2,F3}, export_price_eur_per_mwh, zonal_mean_eur_per_mwh, "
        "shared_bonus_eur_per_mwh",
    )
    zonal_price_eur_per_mwh = models.JSONField(
        null=True, blank=True, help_text="Hourly or per-interval zonal price; empty = synthetic (seeded)."
    )
    co2_kg_per_kwh = models.DecimalField(max_digits=6, decimal_places=4, default=Decimal("0.2500"))
    economics = models.JSONField(default=dict, blank=True)
    producers_pct = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("55"))
    consumers_pct = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("40"))
    fund_pct = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("5"))
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScenarioQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="scenario_span_ordered"),
        ]

    def __str__(self) -> str:
        return self.name


class ScenarioMember(models.Model):
    """A participant meter: a real member (measured or profiled) or a simulated one."""

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="members")
    key = models.CharField(max_length=64, help_text="Column name in an uploaded CSV.")
    name = models.CharField(max_length=200)
    membership = models.ForeignKey(
        "communities.Membership", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    user_type = models.CharField(max_length=16, default="simulated")
    profile = models.CharField(max_length=4, default="H0")
    annual_kwh = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("3000"))
    business = models.BooleanField(default=False)
    curve_kwh = models.BinaryField(null=True, blank=True, help_text="float64 energy per interval, zlib.")

    class Meta:
        ordering = ["scenario", "id"]
        constraints = [models.UniqueConstraint(fields=["scenario", "key"], name="scenario_member_key_unique")]

    def __str__(self) -> str:
        return self.name


class ScenarioPlant(models.Model):
    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="plants")
    member = models.ForeignKey(ScenarioMember, on_delete=models.CASCADE, related_name="plants")
    plant = models.ForeignKey(
        "plants.Plant", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    name = models.CharField(max_length=200)
    lat = models.FloatField(validators=[MinValueValidator(-90), MaxValueValidator(90)])
    lon = models.FloatField(validators=[MinValueValidator(-180), MaxValueValidator(180)])
    kwp = models.DecimalField(max_digits=10, decimal_places=3)
    tilt_deg = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("30"))
    azimuth_deg = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("180"))
    losses_pct = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("14"))
    inverter_kw = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    commissioned_on = models.DateField(null=True, blank=True)
    geo_zone = models.CharField(max_length=8, default="north")
    capital_grant_pct = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))

    class Meta:
        ordering = ["scenario", "id"]

    def __str__(self) -> str:
        return self.name


class ScenarioBattery(models.Model):
    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="batteries")
    member = models.ForeignKey(ScenarioMember, on_delete=models.CASCADE, related_name="batteries")
    name = models.CharField(max_length=200)
    capacity_kwh = models.DecimalField(max_digits=10, decimal_places=3)
    power_kw = models.DecimalField(max_digits=10, decimal_places=3)
    charge_efficiency = models.DecimalField(max_digits=4, decimal_places=3, default=Decimal("0.95"))
    discharge_efficiency = models.DecimalField(max_digits=4, decimal_places=3, default=Decimal("0.95"))
    soc_min_pct = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("10"))
    soc_max_pct = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("100"))
    soc_initial_pct = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("50"))

    class Meta:
        ordering = ["scenario", "id"]

    def __str__(self) -> str:
        return self.name


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINAL_STATUSES = (RunStatus.DONE, RunStatus.FAILED, RunStatus.CANCELLED)
ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


class SimulationRunQuerySet(ScopedQuerySet):
    def _scope(self, user):
        return self.filter(scenario__in=Scenario.objects.visible_to(user))

    def _manage_scope(self, user):
        return self.filter(scenario__in=Scenario.objects.managed_by(user))

    def active(self):
        return self.filter(status__in=ACTIVE_STATUSES)


class SimulationRun(models.Model):
    job = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="runs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    celery_task_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    progress_pct = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))
    stage = models.CharField(max_length=32, default="queued")
    message = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    solver_status = models.CharField(max_length=64, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    intervals_npz = models.BinaryField(null=True, blank=True, help_text="Interval table, numpy npz.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life of the worker running it (stuck-run sweep)."
    )

    objects = SimulationRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # the per-user quota (active runs of created_by) and the stuck-run sweep (by status)
            models.Index(
                fields=["status", "created_by"],
                name="simrun_active_idx",
                condition=Q(status__in=["queued", "running"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scenario} run {self.job}"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    def progress_event(self) -> dict:
        return {
            "job": str(self.job),
            "status": self.status,
            "percent": float(self.progress_pct),
            "stage": self.stage,
            "message": self.message,
        }
