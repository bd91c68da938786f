"""Production plants and their assets (inverters, meters, batteries, strings)."""

from decimal import Decimal

from django.conf import settings
from django.contrib.gis.db import models
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Q

from accounts.models import Role
from core.scoping import ScopedQuerySet


class Technology(models.TextChoices):
    PV_MONO = "pv_mono", "PV monocrystalline"
    PV_POLY = "pv_poly", "PV polycrystalline"
    PV_THIN_FILM = "pv_thin_film", "PV thin film"
    WIND = "wind", "Wind"
    HYDRO = "hydro", "Hydro"
    BIOMASS = "biomass", "Biomass"


class PlantStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    OPERATING = "operating", "Operating"
    MAINTENANCE = "maintenance", "Maintenance"
    DECOMMISSIONED = "decommissioned", "Decommissioned"


class PlantQuerySet(ScopedQuerySet):
    def _scope(self, user):
        if user.role == Role.VENDOR:
            return self.filter(community__organization_id=user.organization_id)
        if user.role == Role.REFERENT:
            return self.filter(Q(community__referents=user) | Q(owner=user)).distinct()
        return self.filter(owner=user)

    def _manage_scope(self, user):
        """Plants of the communities the user manages; a plant outside any community is
        managed by admins only (the guard of `managed_by`)."""
        from communities.models import Community

        return self.filter(community__in=Community.objects.managed_by(user).values("pk"))


class Plant(models.Model):
    name = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="plants"
    )
    community = models.ForeignKey(
        "communities.Community", on_delete=models.PROTECT, null=True, blank=True,
        related_name="plants",
    )
    metering_point = models.ForeignKey(
        "communities.MeteringPoint", on_delete=models.PROTECT, null=True, blank=True,
        related_name="plants",
    )
    location = models.PointField(srid=4326)
    site = models.PolygonField(srid=4326, null=True, blank=True, help_text="Footprint, optional.")
    capacity_kwp = models.DecimalField(
        max_digits=10, decimal_places=3, validators=[MinValueValidator(Decimal("0.001"))]
    )
    tilt_deg = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("30"),
        validators=[MinValueValidator(0), MaxValueValidator(90)],
    )
    azimuth_deg = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("180"),
        validators=[MinValueValidator(0), MaxValueValidator(360)],
        help_text="Compass bearing the modules face: 180 = south (pvlib convention).",
    )
    losses_pct = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("14"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    technology = models.CharField(max_length=16, choices=Technology.choices, default=Technology.PV_MONO)
    inverter_power_kw = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    commissioned_on = models.DateField(
        null=True, blank=True, help_text="GSE assigns shared energy to plants oldest first."
    )
    status = models.CharField(max_length=16, choices=PlantStatus.choices, default=PlantStatus.OPERATING)
    grant_pct = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("0"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Capital grant received, % of the investment (Italian TIP: F = 0.50 x grant / 40).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PlantQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(capacity_kwp__gt=0), name="plant_capacity_positive"),
        ]
        indexes = [
            # community plant lists and commissioning-order allocation
            models.Index(fields=["community", "commissioned_on"]),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def peak_kw(self) -> float:
        """AC-limited peak: the inverter power when known, else the DC capacity."""
        return float(self.inverter_power_kw or self.capacity_kwp)


class PlantShareQuerySet(ScopedQuerySet):
    def _scope(self, user):
        return self.filter(Q(plant__in=Plant.objects.visible_to(user)) | Q(user=user))

    def _manage_scope(self, user):
        return self.filter(plant__in=Plant.objects.managed_by(user))


class PlantShare(models.Model):
    """An investor's share of a plant (seed 004): it takes that percentage of the plant's
    producer part of a settlement; the owner keeps the rest."""

    plant = models.ForeignKey(Plant, on_delete=models.CASCADE, related_name="shares")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="plant_shares")
    pct = models.DecimalField(
        max_digits=5, decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(100)],
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PlantShareQuerySet.as_manager()

    class Meta:
        ordering = ["plant", "id"]
        constraints = [
            models.UniqueConstraint(fields=["plant", "user"], name="plant_share_unique"),
            models.CheckConstraint(condition=Q(pct__gt=0) & Q(pct__lte=100), name="plant_share_pct_range"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.pct}% of {self.plant}"


class AssetKind(models.TextChoices):
    INVERTER = "inverter", "Inverter"
    METER = "meter", "Meter"
    BATTERY = "battery", "Battery"
    STRING = "string", "PV string"


class AssetQuerySet(ScopedQuerySet):
    def _scope(self, user):
        return self.filter(plant__in=Plant.objects.visible_to(user))

    def _manage_scope(self, user):
        return self.filter(plant__in=Plant.objects.managed_by(user).values("pk"))

    def batteries(self):
        return self.filter(kind=AssetKind.BATTERY)


class Asset(models.Model):
    plant = models.ForeignKey(Plant, on_delete=models.CASCADE, related_name="assets")
    kind = models.CharField(max_length=16, choices=AssetKind.choices)
    manufacturer = models.CharField(max_length=100, blank=True)
    model = models.CharField(max_length=100, blank=True)
    serial = models.CharField(max_length=100, blank=True)
    # Battery specs (kind=battery); read by the simulation and dashboards.
    capacity_kwh = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    power_kw = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    round_trip_efficiency = models.DecimalField(
        max_digits=4, decimal_places=3, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("1"))],
    )
    soc_min_pct = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("10"))
    soc_max_pct = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("100"))
    specs = models.JSONField(default=dict, blank=True)
    installed_on = models.DateField(null=True, blank=True)

    objects = AssetQuerySet.as_manager()

    class Meta:
        ordering = ["plant", "kind", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="battery")
                | (Q(capacity_kwh__gt=0) & Q(power_kw__gt=0) & Q(round_trip_efficiency__isnull=False)),
                name="battery_specs_required",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.manufacturer} {self.model}".strip()
