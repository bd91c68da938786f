"""Communities and who is in them: the heart of the data model.

Geometry is stored in SRID 4326 (WGS 84 lon/lat). Energy in kWh, money in Decimal EUR.
"""

import re
from decimal import Decimal

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateRangeField, DateTimeRangeField, RangeOperators
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import F, Func, Q
from django.db.models.functions import Coalesce, Lower, Mod
from django.db.models.lookups import Exact
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from core.scoping import ScopedQuerySet


def _vendor(user) -> bool:
    return user.role == Role.VENDOR


def _referent(user) -> bool:
    return user.role == Role.REFERENT


class Regime(models.TextChoices):
    IT_CER = "it_cer", "Italy: renewable energy community (CER)"
    IT_AUC = "it_auc", "Italy: collective self-consumers (AUC)"
    FR_ACC = "fr_acc", "France: collective self-consumption (ACC)"
    AT_EEG = "at_eeg", "Austria: renewable energy community (EEG)"
    P2P = "p2p", "Peer-to-peer marketplace"


class MarketZone(models.TextChoices):
    """Italian day-ahead bidding zones, plus the single zones of France and Austria."""

    NORD = "NORD", "Italy North"
    CNOR = "CNOR", "Italy Centre-North"
    CSUD = "CSUD", "Italy Centre-South"
    SUD = "SUD", "Italy South"
    CALA = "CALA", "Italy Calabria"
    SICI = "SICI", "Italy Sicily"
    SARD = "SARD", "Italy Sardinia"
    FR = "FR", "France"
    AT = "AT", "Austria"


class EegScope(models.TextChoices):
    LOCAL = "local", "Local (grid levels 6-7)"
    REGIONAL = "regional", "Regional"


class MunicipalityClass(models.TextChoices):
    """France's derogations to the ACC perimeter (INSEE's municipal density grid)."""

    URBAN = "urban", "Urban"
    PERI_URBAN = "peri_urban", "Peri-urban"
    RURAL = "rural", "Rural"


class CommunityStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    CLOSED = "closed", "Closed"


def _member_community_ids(user):
    return Membership.objects.filter(user=user, left_at__isnull=True).values("community_id")


class CommunityQuerySet(ScopedQuerySet):
    def _scope(self, user):
        if _vendor(user):
            return self.filter(organization_id=user.organization_id)
        if _referent(user):
            return self.filter(Q(referents=user) | Q(pk__in=_member_community_ids(user))).distinct()
        return self.filter(pk__in=_member_community_ids(user))

    def _manage_scope(self, user):
        """Communities the user may change (not just read): the vendor's organization's, the
        referent's own. Every other "may manage" rule of this app derives from this one."""
        if _vendor(user):
            return self.filter(organization_id=user.organization_id)
        if _referent(user):
            return self.filter(referents=user)
        return self.none()


def _managed_communities(user):
    return Community.objects.managed_by(user).values("pk")


class Community(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="communities"
    )
    regime = models.CharField(max_length=16, choices=Regime.choices, default=Regime.IT_CER)
    boundary = models.MultiPolygonField(srid=4326, null=True, blank=True)
    primary_substation = models.CharField(
        max_length=64, blank=True, help_text="Code of the primary substation (cabina primaria)."
    )
    market_zone = models.CharField(max_length=8, choices=MarketZone.choices, default=MarketZone.NORD)
    public_body_single_epci = models.BooleanField(
        default=False,
        help_text="France: a public-body project whose participants are all within one EPCI "
                  "(the power cap is then the higher one, arrete of 21 Feb 2025).",
    )
    eeg_scope = models.CharField(
        max_length=16, choices=EegScope.choices, blank=True,
        help_text="Austria: local (grid levels 6-7) or regional EEG; decides the grid-fee reduction.",
    )
    time_zone = models.CharField(max_length=64, default="Europe/Rome")
    currency = models.CharField(max_length=3, default="EUR")
    status = models.CharField(
        max_length=16, choices=CommunityStatus.choices, default=CommunityStatus.DRAFT
    )
    referents = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="managed_communities"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CommunityQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "communities"

    def __str__(self) -> str:
        return self.name


class RegimeParameters(models.Model):
    """A dated, versioned parameter set of a regime (DOMAIN.md: rules change by decree).

    `params` holds the figures of that version, e.g. for it_cer the TIP bands, the
    geographic corrections, CU_Af and the excess-premium thresholds.
    """

    regime = models.CharField(max_length=16, choices=Regime.choices)
    version = models.CharField(max_length=32)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True, help_text="Exclusive; empty = open.")
    params = models.JSONField(default=dict)
    source = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["regime", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["regime", "version"], name="regime_version_unique"),
        ]
        verbose_name_plural = "regime parameters"

    def __str__(self) -> str:
        return f"{self.regime} {self.version}"


class AllocationKey(models.TextChoices):
    PRO_RATA = "pro_rata", "Pro rata to consumption (default dynamic)"
    STATIC = "static", "Static shares"
    DYNAMIC = "dynamic", "Dynamic shares per interval (France: simple dynamic, imported)"
    FULL_DYNAMIC = "full_dynamic", "Full dynamic: coefficient per producer and consumer (France, imported)"


class ConfigurationStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    ARCHIVED = "archived", "Archived"


class DateRange(Func):
    function = "daterange"
    output_field = DateRangeField()


class EpochSeconds(Func):
    """Seconds since 1970-01-01 UTC of a timestamptz (independent of the session's zone)."""

    template = "EXTRACT(EPOCH FROM %(expressions)s)"
    output_field = models.IntegerField()  # numeric in SQL: a fraction of a second stays off the grid


class TsTzRange(Func):
    function = "tstzrange"
    output_field = DateTimeRangeField()


class ConfigurationQuerySet(ScopedQuerySet):
    def _scope(self, user):
        return self.filter(community__in=Community.objects.visible_to(user))

    def _manage_scope(self, user):
        return self.filter(community__in=_managed_communities(user))


class Configuration(models.Model):
    """The sharing rules of a community over a date range [valid_from, valid_to)."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="configurations")
    name = models.CharField(max_length=200)
    regime_parameters = models.ForeignKey(
        RegimeParameters, on_delete=models.PROTECT, null=True, blank=True,
        related_name="configurations",
    )
    allocation_key = models.CharField(
        max_length=16, choices=AllocationKey.choices, default=AllocationKey.PRO_RATA
    )
    static_shares = models.JSONField(
        default=dict, blank=True, help_text="For the static key: {membership_id: share 0..1}."
    )
    producers_pct = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("55"))
    consumers_pct = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("40"))
    fund_pct = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("5"))
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True, help_text="Exclusive; empty = open.")
    status = models.CharField(
        max_length=16, choices=ConfigurationStatus.choices, default=ConfigurationStatus.ACTIVE
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ConfigurationQuerySet.as_manager()

    class Meta:
        ordering = ["community", "-valid_from"]
        constraints = [
            # One active configuration per community at any instant.
            ExclusionConstraint(
                name="one_active_configuration",
                expressions=[
                    (F("community"), RangeOperators.EQUAL),
                    (DateRange("valid_from", "valid_to", models.Value("[)")), RangeOperators.OVERLAPS),
                ],
                condition=Q(status="active"),
            ),
            models.CheckConstraint(
                condition=Q(producers_pct__gte=0) & Q(consumers_pct__gte=0) & Q(fund_pct__gte=0)
                & Q(producers_pct__lte=100) & Q(consumers_pct__lte=100) & Q(fund_pct__lte=100),
                name="statute_split_percentages",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")),
                name="configuration_range_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.community}: {self.name}"

    def clean(self):
        total = (self.producers_pct or 0) + (self.consumers_pct or 0) + (self.fund_pct or 0)
        if total != 100:
            raise ValidationError({"fund_pct": f"The statute split must add up to 100 (is {total})."})


class MembershipRole(models.TextChoices):
    MEMBER = "member", "Member"
    REFERENT = "referent", "Referent"


class MembershipStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACTIVE = "active", "Active"
    LEFT = "left", "Left"


class MembershipQuerySet(ScopedQuerySet):
    def _scope(self, user):
        if _vendor(user):
            return self.filter(community__organization_id=user.organization_id)
        if _referent(user):
            return self.filter(Q(community__referents=user) | Q(user=user)).distinct()
        return self.filter(user=user)

    def _manage_scope(self, user):
        return self.filter(community__in=_managed_communities(user))

    def current(self):
        return self.filter(left_at__isnull=True)


class Membership(models.Model):
    """A user in a community. Leaving sets `left_at`; rows are never deleted (history)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships"
    )
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="memberships")
    member_type = models.CharField(
        max_length=16,
        choices=[("consumer", "Consumer"), ("producer", "Producer"), ("prosumer", "Prosumer")],
        default="consumer",
    )
    role = models.CharField(
        max_length=16, choices=MembershipRole.choices, default=MembershipRole.MEMBER
    )
    is_business = models.BooleanField(
        default=False, help_text="A business gets no part of the Italian excess premium."
    )
    participation_factor_pct = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("100"),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
        help_text="Austrian multi-participation: share of this member's meter in the community.",
    )
    network_level = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(7)],
        help_text="Austria: the grid level (Netzebene 1-7) the member's meter is connected at.",
    )
    joined_at = models.DateField()
    left_at = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=MembershipStatus.choices, default=MembershipStatus.ACTIVE
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["community", "joined_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "community"], condition=Q(left_at__isnull=True),
                name="one_current_membership_per_community",
            ),
            models.CheckConstraint(
                condition=Q(left_at__isnull=True) | Q(left_at__gte=F("joined_at")),
                name="membership_left_after_joined",
            ),
            models.CheckConstraint(
                condition=Q(participation_factor_pct__gt=0) & Q(participation_factor_pct__lte=100),
                name="participation_factor_range",
            ),
            models.CheckConstraint(
                condition=Q(network_level__isnull=True) | (Q(network_level__gte=1) & Q(network_level__lte=7)),
                name="membership_network_level_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.community}"

    @property
    def is_current(self) -> bool:
        return self.left_at is None


class ParticipationFactor(models.Model):
    """One version of an Austrian membership's participation factor over [valid_from, valid_to):
    instants on the 15-minute grid (`communities.quarter_hours`), so a change may start at any
    quarter hour; DOMAIN.md's "at most one change a day" holds per local day of the
    community. `Membership.participation_factor_pct` mirrors the open-ended version;
    `communities.services.membership_factor_change` writes both."""

    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="factor_versions")
    factor_pct = models.DecimalField(
        _("participation factor (%)"), max_digits=5, decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
    )
    valid_from = models.DateTimeField(_("valid from"))
    valid_to = models.DateTimeField(_("valid to"), null=True, blank=True,
                                    help_text=_("Exclusive; empty = open."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["membership", "valid_from"]
        verbose_name = _("participation factor version")
        verbose_name_plural = _("participation factor versions")
        constraints = [
            # Two versions of one membership never overlap: each quarter hour has one factor.
            ExclusionConstraint(
                name="participation_factor_versions_disjoint",
                expressions=[
                    (F("membership"), RangeOperators.EQUAL),
                    (TsTzRange("valid_from", "valid_to", models.Value("[)")), RangeOperators.OVERLAPS),
                ],
            ),
            # both bounds on the 15-minute grid (the settlement's intervals)
            models.CheckConstraint(
                condition=Exact(Mod(EpochSeconds("valid_from"), 900), 0)
                & Exact(Mod(Coalesce(EpochSeconds("valid_to"), 0), 900), 0),
                name="participation_factor_version_quarter_hours",
            ),
            models.CheckConstraint(
                condition=Q(factor_pct__gt=0) & Q(factor_pct__lte=100),
                name="participation_factor_version_range",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")),
                name="participation_factor_version_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.membership_id}: {self.factor_pct} % from {self.valid_from}"


POD_PATTERNS = {
    # Italy: IT + 3-digit distributor code + E + 8 or 9 digits (e.g. IT001E12345678).
    "IT": re.compile(r"^IT\d{3}E\d{8,9}$"),
    # France: PRM / PDL, 14 digits.
    "FR": re.compile(r"^\d{14}$"),
    # Austria: Zaehlpunktnummer, AT + 31 alphanumerics.
    "AT": re.compile(r"^AT[0-9A-Z]{31}$"),
}


def validate_pod_code(value: str) -> None:
    code = (value or "").strip().upper()
    if not any(p.match(code) for p in POD_PATTERNS.values()):
        raise ValidationError(
            "Not a valid metering point code (Italian POD like IT001E12345678, French PRM of "
            "14 digits, or Austrian AT + 31 characters).",
            code="pod_format",
        )


class Direction(models.TextChoices):
    WITHDRAWAL = "withdrawal", "Withdrawal"
    INJECTION = "injection", "Injection"
    BOTH = "both", "Both"


class MeteringPointQuerySet(ScopedQuerySet):
    def _scope(self, user):
        if _vendor(user):
            return self.filter(membership__community__organization_id=user.organization_id)
        if _referent(user):
            return self.filter(
                Q(membership__community__referents=user) | Q(membership__user=user)
            ).distinct()
        return self.filter(membership__user=user)

    def _manage_scope(self, user):
        return self.filter(membership__community__in=_managed_communities(user))


class MeteringPoint(models.Model):
    """A POD: one grid connection and its meter."""

    code = models.CharField(max_length=40, unique=True, validators=[validate_pod_code])
    membership = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="metering_points"
    )
    location = models.PointField(srid=4326, null=True, blank=True)
    primary_substation = models.CharField(max_length=64, blank=True)
    market_zone = models.CharField(max_length=8, choices=MarketZone.choices, blank=True)
    direction = models.CharField(max_length=16, choices=Direction.choices, default=Direction.WITHDRAWAL)
    meter_serial = models.CharField(max_length=64, blank=True)
    is_smart_meter = models.BooleanField(default=True)
    grant_exempt = models.BooleanField(
        default=False,
        help_text="Withdrawal point of a local authority, religious, third-sector or environmental "
        "body: energy attributed to it is exempt from the TIP's capital-grant reduction.",
    )
    municipality_class = models.CharField(
        max_length=16, choices=MunicipalityClass.choices, blank=True,
        help_text="France: the class of the point's municipality (ACC perimeter derogations); "
                  "empty counts as urban.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MeteringPointQuerySet.as_manager()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class TransactionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SETTLED = "settled", "Settled"
    CANCELLED = "cancelled", "Cancelled"


class EnergyTransactionQuerySet(ScopedQuerySet):
    def _scope(self, user):
        if _vendor(user):
            return self.filter(community__organization_id=user.organization_id)
        if _referent(user):
            return self.filter(
                Q(community__referents=user)
                | Q(from_membership__user=user) | Q(to_membership__user=user)
            ).distinct()
        return self.filter(Q(from_membership__user=user) | Q(to_membership__user=user))

    def _manage_scope(self, user):
        return self.filter(community__in=_managed_communities(user))


class EnergyTransaction(models.Model):
    """Energy shared from one member to another member or to the community, in an interval."""

    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="transactions")
    from_membership = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="transactions_out"
    )
    to_membership = models.ForeignKey(
        Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="transactions_in",
        help_text="Empty: the energy goes to the community as a whole.",
    )
    energy_kwh = models.DecimalField(max_digits=14, decimal_places=4)
    unit_price_eur_per_kwh = models.DecimalField(max_digits=10, decimal_places=6, default=Decimal("0"))
    interval_start = models.DateTimeField()
    interval_end = models.DateTimeField()
    status = models.CharField(
        max_length=16, choices=TransactionStatus.choices, default=TransactionStatus.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
    )
    idempotency_key = models.CharField(
        max_length=200, blank=True, default="",
        help_text="The `Idempotency-Key` header of the create: a retry returns this row.",
    )

    objects = EnergyTransactionQuerySet.as_manager()

    class Meta:
        ordering = ["-interval_start", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"], condition=~Q(idempotency_key=""),
                name="transaction_idempotency_key_unique",
            ),
            models.CheckConstraint(condition=Q(energy_kwh__gt=0), name="transaction_energy_positive"),
            models.CheckConstraint(
                condition=Q(unit_price_eur_per_kwh__gte=0), name="transaction_price_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(interval_end__gt=F("interval_start")), name="transaction_interval_ordered"
            ),
        ]
        indexes = [
            # community transactions list, newest first
            models.Index(fields=["community", "-interval_start"]),
        ]

    @property
    def amount_eur(self) -> Decimal:
        return (self.energy_kwh * self.unit_price_eur_per_kwh).quantize(Decimal("0.01"))


class SubstationArea(models.Model):
    """The area served by one primary substation (cabina primaria), imported from GIS files.

    Used to infer a metering point's substation from its location when the distributor's
    code is not known yet (see `import_boundaries`).
    """

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200, blank=True)
    area = models.MultiPolygonField(srid=4326)
    source = models.CharField(max_length=300, blank=True, help_text="File the area came from.")
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}".strip()


class InvitationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    REVOKED = "revoked", "Revoked"


class MembershipInvitationQuerySet(ScopedQuerySet):
    """Seen by the managers of the community (who sent it) and by the invited person."""

    def _scope(self, user):
        return self.filter(Q(community__in=_managed_communities(user)) | Q(email__iexact=user.email))

    def _manage_scope(self, user):
        return self.filter(community__in=_managed_communities(user))

    def pending(self):
        from django.utils import timezone

        return self.filter(status=InvitationStatus.PENDING, expires_at__gt=timezone.now())


class MembershipInvitation(models.Model):
    """A pending enrolment: staff asked for the person with `email` to join `community`.

    Nothing of the person (account or not) becomes visible to the community's managers
    before they accept through the emailed link or the portal page; the membership is created
    then, with the `terms` the inviter chose (member_type, role, participation factor,
    joined_at, first metering point)."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    token = models.CharField(max_length=64, unique=True)
    terms = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=InvitationStatus.choices,
                              default=InvitationStatus.PENDING)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="+")
    membership = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    objects = MembershipInvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            # one open invitation per person and community (a new one refreshes it)
            models.UniqueConstraint(
                "community", Lower("email"), condition=Q(status="pending"),
                name="one_pending_invitation_per_community",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.community}"
