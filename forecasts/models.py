"""Forecasts, their scores, the community's forecast settings and battery schedules.

Storage is compact (PITFALLS.md): one row per (subject, issue time) holding the whole
horizon as arrays (`values_kwh[i]` is the energy of the interval starting at
`start + i * step_minutes`), so 1,000 meters x 48 h is 1,000 rows per issue, not 48,000.
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from core.scoping import ScopedQuerySet


class SubjectKind(models.TextChoices):
    PLANT = "plant", "Plant"
    METER = "meter", "Metering point"
    COMMUNITY = "community", "Community"


class Quantity(models.TextChoices):
    PRODUCTION = "production", "Production"
    CONSUMPTION = "consumption", "Consumption"
    SHARED = "shared", "Shared energy"


def _visible_communities(user):
    from communities.models import Community

    return Community.objects.visible_to(user).values("pk")


def _managed_communities(user):
    from communities.models import Community

    return Community.objects.managed_by(user).values("pk")


class ForecastQuerySet(ScopedQuerySet):
    def _scope(self, user):
        """Community series of the communities one sees; a plant's or a meter's own series
        only to who sees that plant or meter (a member never sees another member's meter)."""
        from communities.models import MeteringPoint
        from plants.models import Plant

        return self.filter(
            Q(kind=SubjectKind.COMMUNITY, community__in=_visible_communities(user))
            | Q(kind=SubjectKind.PLANT, plant__in=Plant.objects.visible_to(user).values("pk"))
            | Q(kind=SubjectKind.METER,
                metering_point__in=MeteringPoint.objects.visible_to(user).values("pk"))
        )

    def _manage_scope(self, user):
        return self.filter(community__in=_managed_communities(user))


class Forecast(models.Model):
    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE,
                                  related_name="forecasts")
    kind = models.CharField(max_length=16, choices=SubjectKind.choices)
    quantity = models.CharField(max_length=16, choices=Quantity.choices)
    plant = models.ForeignKey("plants.Plant", on_delete=models.CASCADE, null=True, blank=True,
                              related_name="forecasts")
    metering_point = models.ForeignKey("communities.MeteringPoint", on_delete=models.CASCADE,
                                       null=True, blank=True, related_name="forecasts")
    issued_at = models.DateTimeField()
    start = models.DateTimeField(help_text="Start of the first interval (UTC).")
    step_minutes = models.PositiveSmallIntegerField(default=60)
    values_kwh = ArrayField(models.FloatField(), help_text="Expected energy per interval (kWh).")
    low_kwh = ArrayField(models.FloatField(), default=list, blank=True,
                         help_text="Lower edge of the band (10th percentile), community series only.")
    high_kwh = ArrayField(models.FloatField(), default=list, blank=True,
                          help_text="Upper edge of the band (90th percentile), community series only.")
    method = models.CharField(max_length=64, help_text="e.g. clear-sky x gbm, gbm, bdew-h0")

    objects = ForecastQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["community", "kind", "quantity", "plant", "metering_point", "issued_at"],
                nulls_distinct=False, name="forecast_one_per_subject_and_issue"),
        ]
        indexes = [
            # the latest issue of a community's series (API, windows, scoring by issue time)
            models.Index(fields=["community", "kind", "quantity", "-issued_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity} @ {self.issued_at:%Y-%m-%d %H:%M}"


class ForecastScore(models.Model):
    """A day's day-ahead forecast against what was measured (MAE in kWh per interval, and the
    skill 1 - MAE / MAE_persistence, persistence = the day before, same interval)."""

    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE,
                                  related_name="forecast_scores")
    kind = models.CharField(max_length=16, choices=SubjectKind.choices)
    quantity = models.CharField(max_length=16, choices=Quantity.choices)
    plant = models.ForeignKey("plants.Plant", on_delete=models.CASCADE, null=True, blank=True,
                              related_name="+")
    metering_point = models.ForeignKey("communities.MeteringPoint", on_delete=models.CASCADE,
                                       null=True, blank=True, related_name="+")
    day = models.DateField(help_text="Local day scored (community time zone).")
    issued_at = models.DateTimeField(help_text="Issue time of the forecast scored.")
    n = models.PositiveIntegerField(help_text="Intervals with both a forecast and a measurement.")
    mae_kwh = models.FloatField()
    persistence_mae_kwh = models.FloatField(null=True, blank=True)
    skill = models.FloatField(null=True, blank=True, help_text="1 - MAE / MAE_persistence.")
    measured_kwh = models.FloatField()
    forecast_kwh = models.FloatField()
    created_at = models.DateTimeField(auto_now=True)

    objects = ForecastQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["community", "kind", "quantity", "plant", "metering_point", "day"],
                nulls_distinct=False, name="forecast_score_one_per_subject_and_day"),
        ]
        indexes = [
            # skill API: a community's scores over the last days
            models.Index(fields=["community", "kind", "-day"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity} on {self.day}: skill {self.skill}"


class ForecastSettingsQuerySet(ScopedQuerySet):
    def _scope(self, user):
        return self.filter(community__in=_visible_communities(user))

    def _manage_scope(self, user):
        return self.filter(community__in=_managed_communities(user))


class ForecastSettings(models.Model):
    """A community's choices: battery steering is opt-in (commands are sent only when on)."""

    community = models.OneToOneField("communities.Community", on_delete=models.CASCADE,
                                     related_name="forecast_settings")
    battery_steering = models.BooleanField(
        default=False, help_text="Send tomorrow's battery schedules to the batteries as commands.")
    green_window_min_kwh = models.FloatField(
        default=1.0, help_text="Least expected community surplus (kWh) for an hour to be green.")
    updated_at = models.DateTimeField(auto_now=True)

    objects = ForecastSettingsQuerySet.as_manager()

    def __str__(self) -> str:
        return f"forecast settings of {self.community_id}"


class BatteryScheduleQuerySet(ScopedQuerySet):
    def _scope(self, user):
        """The community's managers, and the battery's plant owner."""
        return self.filter(Q(community__in=_managed_communities(user)) | Q(asset__plant__owner=user))

    def _manage_scope(self, user):
        return self.filter(community__in=_managed_communities(user))


class BatterySchedule(models.Model):
    """Tomorrow's charge/discharge plan of one battery (energy per interval, AC side)."""

    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE,
                                  related_name="battery_schedules")
    asset = models.ForeignKey("plants.Asset", on_delete=models.CASCADE, related_name="schedules")
    device = models.ForeignKey("iot.Device", on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="+")
    day = models.DateField(help_text="Local day the schedule covers.")
    issued_at = models.DateTimeField()
    start = models.DateTimeField()
    step_minutes = models.PositiveSmallIntegerField(default=60)
    charge_kwh = ArrayField(models.FloatField())
    discharge_kwh = ArrayField(models.FloatField())
    soc_kwh = ArrayField(models.FloatField(), help_text="State of charge at the end of each interval.")
    expected_shared_kwh = models.FloatField(help_text="Community shared energy forecast with the schedule.")
    expected_shared_without_kwh = models.FloatField(
        help_text="Community shared energy forecast with the battery on its own self-consumption rule.")
    measured_added_kwh = models.FloatField(
        null=True, blank=True, help_text="Measured afterwards: shared energy the battery's flows added.")
    command = models.ForeignKey("iot.DeviceCommand", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="+")

    objects = BatteryScheduleQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["asset", "day"], name="battery_schedule_one_per_day")]
        indexes = [
            # the referent's page: a community's schedules of a day
            models.Index(fields=["community", "-day"]),
        ]

    def __str__(self) -> str:
        return f"schedule of asset {self.asset_id} on {self.day}"

    @property
    def command_status(self) -> str:
        """'not sent' until a command exists, else the command's status (sent, acknowledged...)."""
        return self.command.status if self.command_id else "not sent"
