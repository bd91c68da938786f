"""Settlement of a community's month: periods, runs, lines, official curves, gap decisions.

A run is a pure function of its inputs (meter data, regime parameters, statute): the
inputs and the lines are hashed (`inputs_hash`, `result_hash`). Runs go draft -> approved
-> posted; a posted run and its lines are immutable (database triggers, migration 0002);
a later change of the inputs makes a *correcting* run that posts only the difference.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.scoping import ScopedQuerySet


def _communities_visible(user):
    from communities.models import Community

    return Community.objects.visible_to(user)


def _communities_managed(user):
    from communities.models import Community

    return Community.objects.managed_by(user)


def _settlement_communities(user):
    """A member sees the runs of their own communities (and only their own lines, see
    `LineQuerySet`); referents and admins see everything of the communities they manage."""
    return _communities_visible(user)


class PeriodQuerySet(ScopedQuerySet):
    def _scope(self, user):
        return self.filter(community__in=_settlement_communities(user).values("pk"))

    def _manage_scope(self, user):
        return self.filter(community__in=_communities_managed(user).values("pk"))


class SettlementPeriod(models.Model):
    """One month of one community, `month` = the first day of the month in the community's
    time zone (the period is [month 00:00 local, next month 00:00 local))."""

    community = models.ForeignKey(
        "communities.Community", on_delete=models.PROTECT, related_name="settlement_periods"
    )
    month = models.DateField(help_text="First day of the month, in the community's time zone.")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PeriodQuerySet.as_manager()

    class Meta:
        ordering = ["community", "-month"]
        constraints = [
            models.UniqueConstraint(fields=["community", "month"], name="settlement_period_unique"),
            models.CheckConstraint(
                condition=Q(month__day=1), name="settlement_period_first_of_month"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.community} {self.month:%Y-%m}"


class RunKind(models.TextChoices):
    REGULAR = "regular", _("Regular")
    CORRECTION = "correction", _("Correction")
    # GSE's yearly statement minus the year's posted advances; it lives in the period of
    # December (the month that closes the year), numbered with December's runs
    TRUE_UP = "true_up", _("Yearly true-up")


class RunStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    APPROVED = "approved", _("Approved")
    POSTED = "posted", _("Posted")
    SUPERSEDED = "superseded", _("Superseded")
    FAILED = "failed", _("Failed")


class RunQuerySet(ScopedQuerySet):
    def _scope(self, user):
        return self.filter(period__community__in=_settlement_communities(user).values("pk"))

    def _manage_scope(self, user):
        return self.filter(period__community__in=_communities_managed(user).values("pk"))


class SettlementRun(models.Model):
    period = models.ForeignKey(SettlementPeriod, on_delete=models.PROTECT, related_name="runs")
    number = models.PositiveIntegerField(help_text="1, 2, ... within the period.")
    kind = models.CharField(max_length=16, choices=RunKind.choices, default=RunKind.REGULAR)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.DRAFT)
    regime = models.CharField(max_length=16)
    corrects = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections",
        help_text="The posted run this one corrects (it posts only the difference).",
    )
    inputs_hash = models.CharField(max_length=64, blank=True)
    result_hash = models.CharField(max_length=64, blank=True)
    data_quality = models.JSONField(default=dict, blank=True)
    totals = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    posted_at = models.DateTimeField(null=True, blank=True)

    objects = RunQuerySet.as_manager()

    class Meta:
        ordering = ["period", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["period", "number"], name="settlement_run_number_unique"),
            # at most one open (draft or approved) run per period: drafting again replaces it;
            # December's true-up is drafted on its own and may be open beside a correction
            models.UniqueConstraint(
                fields=["period"], condition=Q(status__in=["draft", "approved"]) & ~Q(kind="true_up"),
                name="settlement_one_open_run_per_period",
            ),
            models.UniqueConstraint(
                fields=["period"], condition=Q(status__in=["draft", "approved"], kind="true_up"),
                name="settlement_one_open_true_up_per_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period} run {self.number} ({self.status})"

    @property
    def community(self):
        return self.period.community


class LineKind(models.TextChoices):
    TIP = "tip", _("Incentive (TIP)")
    VALORISATION = "valorisation", _("ARERA valorisation")
    EXCESS_PREMIUM = "excess_premium", _("Excess premium")
    PRODUCER_SHARE = "producer_share", _("Producer share")
    CONSUMER_SHARE = "consumer_share", _("Consumer share")
    EXCESS_SHARE = "excess_share", _("Excess premium share")
    FUND = "fund", _("Community fund")
    GSE_ADVANCE = "gse_advance", _("GSE monthly advance")
    TRUE_UP = "true_up", _("Yearly true-up")
    ADJUSTMENT = "adjustment", _("Adjustment")
    ALLOCATION = "allocation", _("Allocated energy")
    SURPLUS = "surplus", _("Surplus")
    GRID_FEE_SAVING = "grid_fee_saving", _("Grid-fee saving")
    P2P_PURCHASE = "p2p_purchase", _("P2P purchase")
    P2P_SALE = "p2p_sale", _("P2P sale")
    FEE = "fee", _("Fee")


class LineQuerySet(ScopedQuerySet):
    def _scope(self, user):
        managed = SettlementRun.objects.managed_by(user).values("pk")
        own = Q(run__in=SettlementRun.objects.visible_to(user).values("pk")) & (
            Q(membership__user=user) | Q(user=user)
        )
        return self.filter(Q(run__in=managed) | own)

    def _manage_scope(self, user):
        return self.filter(run__in=SettlementRun.objects.managed_by(user).values("pk"))


class SettlementLine(models.Model):
    """One printed line: an amount rounded once, to the cent, from unrounded inputs kept in
    `detail`; `rule` names the rule and version that produced it (`it_cer.tip@2024`).

    `membership` is empty for the community's own lines (GSE's totals, the fund); `plant`
    for lines not tied to one plant."""

    run = models.ForeignKey(SettlementRun, on_delete=models.CASCADE, related_name="lines")
    membership = models.ForeignKey(
        "communities.Membership", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    plant = models.ForeignKey(
        "plants.Plant", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="Who is paid, when not the membership's user (a plant's investor).",
    )
    kind = models.CharField(max_length=20, choices=LineKind.choices)
    # `<regime>.<rule>@<versions>`: a line may name several parameter versions (issue 10)
    rule = models.CharField(max_length=200)
    energy_kwh = models.DecimalField(max_digits=16, decimal_places=4, default=0)
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    detail = models.JSONField(default=dict, blank=True)
    position = models.PositiveIntegerField(default=0, help_text="Ordering key within the run.")

    objects = LineQuerySet.as_manager()

    class Meta:
        ordering = ["run", "position", "id"]
        indexes = [
            # a member's statement: their lines of one run
            models.Index(fields=["membership", "run"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"


class CurveQuerySet(ScopedQuerySet):
    def _scope(self, user):
        return self.filter(
            metering_point__membership__community__in=_communities_managed(user).values("pk")
        )

    def _manage_scope(self, user):
        return self._scope(user)


class OfficialReading(models.Model):
    """The grid operator's measured energy of one metering point in one interval (imported
    from its CSV): it takes precedence over our own meters where present."""

    metering_point = models.ForeignKey(
        "communities.MeteringPoint", on_delete=models.CASCADE, related_name="official_readings"
    )
    interval_start = models.DateTimeField()
    withdrawal_kwh = models.FloatField(null=True, blank=True)
    injection_kwh = models.FloatField(null=True, blank=True)
    source = models.CharField(max_length=200, blank=True)
    imported_at = models.DateTimeField(auto_now=True)

    objects = CurveQuerySet.as_manager()

    class Meta:
        ordering = ["metering_point", "interval_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["metering_point", "interval_start"], name="settlement_official_reading_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.metering_point_id} {self.interval_start:%Y-%m-%d %H:%M}"


class GapDecisionKind(models.TextChoices):
    ESTIMATE = "estimate", _("Estimate")
    EXCLUDE = "exclude", _("Exclude")
    WAIT = "wait", _("Wait")


class GapDecisionQuerySet(ScopedQuerySet):
    def _scope(self, user):
        return self.filter(period__in=SettlementPeriod.objects.visible_to(user).values("pk"))

    def _manage_scope(self, user):
        return self.filter(period__in=SettlementPeriod.objects.managed_by(user).values("pk"))


class GapDecision(models.Model):
    """The referent's decision on a metering point's missing intervals in a period."""

    period = models.ForeignKey(SettlementPeriod, on_delete=models.CASCADE, related_name="gap_decisions")
    metering_point = models.ForeignKey(
        "communities.MeteringPoint", on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(max_length=16, choices=GapDecisionKind.choices)
    method = models.CharField(
        max_length=32, blank=True, help_text="Estimation method (e.g. `linear`, `same_hour_mean`)."
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now=True)

    objects = GapDecisionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["period", "metering_point"], name="settlement_gap_decision_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.metering_point_id} {self.decision}"


class GseStatementQuerySet(ScopedQuerySet):
    def _scope(self, user):
        return self.filter(community__in=_communities_managed(user).values("pk"))

    def _manage_scope(self, user):
        return self._scope(user)


class GseYearlyStatement(models.Model):
    """GSE's yearly statement of one configuration of a community (imported from CSV,
    `settlement.gse`): what GSE finally recognises for the year. The true-up run pays the
    difference between these figures and the year's posted monthly advances."""

    community = models.ForeignKey(
        "communities.Community", on_delete=models.PROTECT, related_name="gse_statements"
    )
    year = models.PositiveSmallIntegerField()
    configuration = models.CharField(
        max_length=64, help_text="GSE's code of the configuration (one community may have several)."
    )
    incentivised_kwh = models.DecimalField(max_digits=16, decimal_places=4)
    tip_eur = models.DecimalField(max_digits=14, decimal_places=2)
    valorisation_eur = models.DecimalField(max_digits=14, decimal_places=2)
    excess_premium_eur = models.DecimalField(
        max_digits=14, decimal_places=2, help_text="The part of the TIP reserved for non-business consumers."
    )
    advances_eur = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True,
        help_text="The advances GSE says it paid (optional; shown beside the ledger's figure).",
    )
    source = models.CharField(max_length=200, blank=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    imported_at = models.DateTimeField(auto_now=True)

    objects = GseStatementQuerySet.as_manager()

    class Meta:
        ordering = ["community", "-year", "configuration"]
        verbose_name = _("GSE yearly statement")
        verbose_name_plural = _("GSE yearly statements")
        constraints = [
            models.UniqueConstraint(
                fields=["community", "year", "configuration"], name="settlement_gse_statement_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.community} {self.year} {self.configuration}"
