"""The peer-to-peer market (regime `p2p`, DOMAIN.md "Peer-to-peer"): hosts' offers,
buyers' allocations on them, the deliveries settled per interval and the suspensions of
allocations whose buyer could not pay.

Energy in kWh (Decimal, 6 places: the settlement works in whole micro-kWh), prices in
EUR/kWh (Decimal, 6 places), money in Decimal EUR to the cent.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from accounts.models import Role
from core.scoping import ScopedQuerySet

KWH = Decimal("0.000001")


def _community_scope(user, prefix: str) -> Q:
    """Rows of communities the user sees: the vendor's organization's, the referent's own,
    and (for everyone) the communities the user is a current member of."""
    from communities.models import Membership

    member_of = Membership.objects.filter(user=user, left_at__isnull=True).values("community_id")
    q = Q(**{f"{prefix}community_id__in": member_of})
    if user.role == Role.VENDOR:
        q |= Q(**{f"{prefix}community__organization_id": user.organization_id})
    if user.role == Role.REFERENT:
        q |= Q(**{f"{prefix}community__referents": user})
    return q


def _staff_scope(user, prefix: str) -> Q:
    """Rows of the communities the user oversees (vendor's organization, referent's own)."""
    if user.role == Role.VENDOR:
        return Q(**{f"{prefix}community__organization_id": user.organization_id})
    if user.role == Role.REFERENT:
        return Q(**{f"{prefix}community__referents": user})
    return Q(pk__in=[])


class OfferStatus(models.TextChoices):
    OPEN = "open", "Open"
    WITHDRAWN = "withdrawn", "Withdrawn"


class OfferQuerySet(ScopedQuerySet):
    def _scope(self, user):
        """Every current member of the community sees its offers (that is the market)."""
        return self.filter(_community_scope(user, "")).distinct()

    def _manage_scope(self, user):
        """Only the host changes (withdraws) an offer."""
        return self.filter(host=user)


class Offer(models.Model):
    """A host's offer to sell the energy injected at one metering point, at a fixed price,
    over [valid_from, valid_to), optionally up to `cap_kwh` in total."""

    community = models.ForeignKey("communities.Community", on_delete=models.PROTECT, related_name="offers")
    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="market_offers")
    metering_point = models.ForeignKey(
        "communities.MeteringPoint",
        on_delete=models.PROTECT,
        related_name="market_offers",
        help_text="The injecting point the energy is delivered from.",
    )
    price_eur_per_kwh = models.DecimalField(max_digits=10, decimal_places=6)
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField()
    cap_kwh = models.DecimalField(
        max_digits=14, decimal_places=6, null=True, blank=True, help_text="Empty: no cap."
    )
    delivered_kwh = models.DecimalField(
        max_digits=14,
        decimal_places=6,
        default=Decimal("0"),
        help_text="Running total of settled deliveries.",
    )
    status = models.CharField(max_length=16, choices=OfferStatus.choices, default=OfferStatus.OPEN)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OfferQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(price_eur_per_kwh__gt=0), name="market_offer_price_positive"),
            models.CheckConstraint(
                condition=Q(cap_kwh__isnull=True) | Q(cap_kwh__gt=0), name="market_offer_cap_positive"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__gt=F("valid_from")), name="market_offer_window_ordered"
            ),
            models.CheckConstraint(
                condition=Q(cap_kwh__isnull=True) | Q(delivered_kwh__lte=F("cap_kwh")),
                name="market_offer_within_cap",
            ),
        ]
        indexes = [
            # deliveries_settle: the community's offers overlapping a window
            models.Index(fields=["community", "valid_from", "valid_to"]),
        ]

    def __str__(self) -> str:
        return f"Offer #{self.pk} {self.price_eur_per_kwh} EUR/kWh"

    @property
    def ends_at(self):
        """The end of delivery: the window's end, or the withdrawal if earlier."""
        if self.withdrawn_at and self.withdrawn_at < self.valid_to:
            return self.withdrawn_at
        return self.valid_to

    @property
    def remaining_kwh(self) -> Decimal | None:
        """What the cap still allows; None without a cap."""
        return None if self.cap_kwh is None else self.cap_kwh - self.delivered_kwh

    def is_open_at(self, when) -> bool:
        return (
            self.status == OfferStatus.OPEN
            and self.valid_from <= when < self.valid_to
            and (self.remaining_kwh is None or self.remaining_kwh > 0)
        )


class AllocationStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    CANCELLED = "cancelled", "Cancelled"


class AllocationQuerySet(ScopedQuerySet):
    def _scope(self, user):
        """The buyer, the offer's host, and the community's staff see an allocation."""
        return self.filter(Q(buyer=user) | Q(offer__host=user) | _staff_scope(user, "offer__")).distinct()

    def _manage_scope(self, user):
        """Only the buyer changes (cancels) an allocation."""
        return self.filter(buyer=user)


class Allocation(models.Model):
    """A buyer's take on an offer, delivered to the buyer's withdrawal point from
    `created_at` until cancelled or suspended, optionally up to `max_kwh` in total."""

    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="allocations")
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="market_allocations"
    )
    metering_point = models.ForeignKey(
        "communities.MeteringPoint",
        on_delete=models.PROTECT,
        related_name="market_allocations",
        help_text="The buyer's withdrawal point.",
    )
    max_kwh = models.DecimalField(
        max_digits=14, decimal_places=6, null=True, blank=True, help_text="Empty: as much as the offer gives."
    )
    delivered_kwh = models.DecimalField(max_digits=14, decimal_places=6, default=Decimal("0"))
    status = models.CharField(
        max_length=16, choices=AllocationStatus.choices, default=AllocationStatus.ACTIVE
    )
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(
        null=True, blank=True, help_text="Cancelled or suspended from this instant on."
    )

    objects = AllocationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["offer", "buyer"],
                condition=~Q(status="cancelled"),
                name="market_one_live_allocation_per_buyer",
            ),
            models.CheckConstraint(
                condition=Q(max_kwh__isnull=True) | Q(max_kwh__gt=0), name="market_allocation_max_positive"
            ),
            models.CheckConstraint(
                condition=Q(max_kwh__isnull=True) | Q(delivered_kwh__lte=F("max_kwh")),
                name="market_allocation_within_max",
            ),
        ]

    def __str__(self) -> str:
        return f"Allocation #{self.pk} on offer #{self.offer_id}"


class DeliveryQuerySet(ScopedQuerySet):
    def _scope(self, user):
        return self.filter(Q(buyer=user) | Q(host=user) | _staff_scope(user, "")).distinct()


class Delivery(models.Model):
    """The energy one allocation received in one interval, and what it cost.

    `energy_kwh` = the allocation's share of min(host injection, buyer withdrawal) (see
    `market.split`), `amount_eur` = energy x price rounded once to the cent, `fee_eur` =
    `billing.services.p2p_fee(amount_eur)`; the buyer pays amount + fee, the host receives
    the amount, the platform the fee (one ledger posting, key `market:<allocation>:<start>`).
    """

    allocation = models.ForeignKey(Allocation, on_delete=models.PROTECT, related_name="deliveries")
    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="deliveries")
    community = models.ForeignKey("communities.Community", on_delete=models.PROTECT, related_name="+")
    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    interval_start = models.DateTimeField()
    interval_end = models.DateTimeField()
    energy_kwh = models.DecimalField(max_digits=14, decimal_places=6)
    price_eur_per_kwh = models.DecimalField(max_digits=10, decimal_places=6)
    amount_eur = models.DecimalField(max_digits=14, decimal_places=2)
    fee_eur = models.DecimalField(max_digits=14, decimal_places=2)
    fee_pct = models.DecimalField(max_digits=6, decimal_places=3)
    rule = models.CharField(max_length=300, help_text="How the energy and the amount were computed.")
    inputs = models.JSONField(default=dict, help_text="The interval's injection, withdrawal and sharing.")
    posting = models.ForeignKey(
        "billing.Posting", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-interval_start", "id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["allocation", "interval_start"], name="market_one_delivery_per_interval"
            ),
            models.CheckConstraint(condition=Q(energy_kwh__gt=0), name="market_delivery_energy_positive"),
        ]
        indexes = [
            # deliveries_settle: what is already settled in a window of the community
            models.Index(fields=["community", "interval_start"]),
        ]

    def __str__(self) -> str:
        return f"Delivery #{self.pk} {self.energy_kwh} kWh at {self.interval_start:%Y-%m-%d %H:%M}"

    @property
    def total_eur(self) -> Decimal:
        """What the buyer paid: amount + fee."""
        return self.amount_eur + self.fee_eur


class SuspensionQuerySet(ScopedQuerySet):
    def _scope(self, user):
        return self.filter(
            Q(allocation__buyer=user)
            | Q(allocation__offer__host=user)
            | _staff_scope(user, "allocation__offer__")
        ).distinct()


class Suspension(models.Model):
    """Why an allocation was suspended: the interval it could not be paid for, and what was due."""

    allocation = models.OneToOneField(Allocation, on_delete=models.PROTECT, related_name="suspension")
    interval_start = models.DateTimeField()
    energy_kwh = models.DecimalField(max_digits=14, decimal_places=6)
    amount_due_eur = models.DecimalField(max_digits=14, decimal_places=2)
    reason = models.CharField(max_length=300)
    reported_at = models.DateTimeField(null=True, blank=True, help_text="When buyer and host were told.")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SuspensionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Suspension of allocation #{self.allocation_id}"
