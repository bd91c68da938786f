"""Allocation data that arrives from outside, per metering point and interval:

- France's ACC: the PMO's simple dynamic shares (per consumer per interval) and full
  dynamic coefficients (per producer and consumer per interval), imported from CSV;
- Austria's EEG: the grid operator's allocation as sent over EDA (per meter and quarter
  hour: G.01 measured energy, G.02 share of the community's generation, G.03
  self-coverage, P.01 surplus), imported from CSV and compared with our own.

Rows hang off a community; they are seen and changed with the community's one rule.
"""

from django.db import models
from django.db.models import Q

from communities.models import Community, MeteringPoint
from core.scoping import ScopedQuerySet


class _CommunityRowQuerySet(ScopedQuerySet):
    def _scope(self, user):
        return self.filter(community__in=Community.objects.visible_to(user).values("pk"))

    def _manage_scope(self, user):
        return self.filter(community__in=Community.objects.managed_by(user).values("pk"))


class AllocationShare(models.Model):
    """One imported French key value: a consumer's share of the interval's production
    (simple dynamic, `producer` empty) or of one producer's (full dynamic)."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="allocation_shares")
    interval_start = models.DateTimeField()
    consumer = models.ForeignKey(MeteringPoint, on_delete=models.PROTECT, related_name="+")
    producer = models.ForeignKey(MeteringPoint, on_delete=models.PROTECT, related_name="+", null=True,
                                 blank=True)
    share = models.DecimalField(max_digits=9, decimal_places=8, help_text="0..1")
    source = models.CharField(max_length=200, blank=True, help_text="File the value came from.")
    imported_at = models.DateTimeField(auto_now=True)

    objects = _CommunityRowQuerySet.as_manager()

    class Meta:
        ordering = ["community", "interval_start", "producer", "consumer"]
        constraints = [
            models.UniqueConstraint(fields=["community", "interval_start", "consumer"],
                                    condition=Q(producer__isnull=True),
                                    name="allocation_share_simple_unique"),
            models.UniqueConstraint(fields=["community", "interval_start", "producer", "consumer"],
                                    condition=Q(producer__isnull=False),
                                    name="allocation_share_full_unique"),
            models.CheckConstraint(condition=Q(share__gte=0) & Q(share__lte=1),
                                   name="allocation_share_range"),
        ]
        # the settlement reads a community's shares over a period; the unique indexes lead
        # with (community, interval_start) and serve it

    def __str__(self) -> str:
        return f"{self.interval_start:%Y-%m-%d %H:%M} {self.consumer_id}: {self.share}"


class EdaValue(models.Model):
    """The Austrian grid operator's figures for one meter and quarter hour (kWh)."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="eda_values")
    metering_point = models.ForeignKey(MeteringPoint, on_delete=models.PROTECT, related_name="+")
    interval_start = models.DateTimeField()
    measured_kwh = models.DecimalField(max_digits=14, decimal_places=6, help_text="G.01")
    community_share_kwh = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True,
                                              help_text="G.02")
    self_coverage_kwh = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True,
                                            help_text="G.03")
    surplus_kwh = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True,
                                      help_text="P.01")
    source = models.CharField(max_length=200, blank=True)
    imported_at = models.DateTimeField(auto_now=True)

    objects = _CommunityRowQuerySet.as_manager()

    class Meta:
        ordering = ["community", "interval_start", "metering_point"]
        constraints = [
            # also the index of the difference report's read (community, period)
            models.UniqueConstraint(fields=["community", "interval_start", "metering_point"],
                                    name="eda_value_unique"),
        ]
        verbose_name = "EDA value"

    def __str__(self) -> str:
        return f"{self.metering_point_id} {self.interval_start:%Y-%m-%d %H:%M}"
