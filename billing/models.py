"""The ledger (accounts, postings, legs), wallets' holds, payments, payouts, provider events.

Money is `Decimal` to the cent. A posting is a set of legs whose signed amounts sum to zero
per posting; a leg's amount is positive when it adds to its account's balance. The database
enforces what matters (migration 0002): postings balance at commit (deferred constraint
trigger), legs and postings are append-only (a trigger refuses UPDATE and DELETE), an
account's stored balance is maintained by a trigger on every leg insert, and a member
wallet can never hold more than its balance nor go negative (`CHECK`).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.scoping import ScopedQuerySet

CENT = Decimal("0.01")
MONEY = {"max_digits": 14, "decimal_places": 2}


class AccountKind(models.TextChoices):
    MEMBER_WALLET = "member_wallet", _("Member wallet")
    COMMUNITY_FUND = "community_fund", _("Community fund")
    INCENTIVES_RECEIVABLE = "incentives_receivable", _("Incentives receivable")
    PAYMENTS_CLEARING = "payments_clearing", _("Payments clearing")
    PAYOUTS_PENDING = "payouts_pending", _("Payouts pending")
    PLATFORM_FEES = "platform_fees", _("Platform fees")
    # what a member owes one community when a negative settlement share (GSE recovering a
    # yearly true-up) exceeds their wallet: negative balance = owed; the wallet stays >= 0.
    # One per user, community and currency (`Receivable` is its sub-ledger)
    MEMBER_RECEIVABLE = "member_receivable", _("Member receivable")


class AccountQuerySet(ScopedQuerySet):
    def _scope(self, user):
        if user.role == "vendor":
            return self.filter(
                Q(community__organization_id=user.organization_id)
                | Q(user__memberships__community__organization_id=user.organization_id)
            ).distinct()
        if user.role == "referent":
            return self.filter(
                Q(user=user) | Q(community__referents=user) | Q(user__memberships__community__referents=user)
            ).distinct()
        return self.filter(user=user)


class Account(models.Model):
    """One ledger account. `balance` is kept by the database (sum of its legs);
    `held` is what pending withdrawals reserve; available = balance - held."""

    kind = models.CharField(max_length=32, choices=AccountKind.choices)
    currency = models.CharField(max_length=3, default="EUR")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="billing_accounts",
    )
    community = models.ForeignKey(
        "communities.Community",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="billing_accounts",
    )
    provider = models.CharField(max_length=32, blank=True)
    balance = models.DecimalField(**MONEY, default=Decimal("0"))
    held = models.DecimalField(**MONEY, default=Decimal("0"))
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AccountQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "currency", "user"],
                condition=Q(user__isnull=False, community__isnull=True),
                name="billing_one_wallet_per_user_currency",
            ),
            models.UniqueConstraint(
                fields=["kind", "currency", "community"],
                condition=Q(community__isnull=False, user__isnull=True),
                name="billing_one_account_per_community_kind",
            ),
            # a member's receivable is keyed by the community owed
            models.UniqueConstraint(
                fields=["kind", "currency", "user", "community"],
                condition=Q(user__isnull=False, community__isnull=False),
                name="billing_one_account_per_user_community_kind",
            ),
            models.UniqueConstraint(
                fields=["kind", "currency", "provider"],
                condition=Q(user__isnull=True, community__isnull=True),
                name="billing_one_platform_account_per_kind",
            ),
            models.CheckConstraint(condition=Q(held__gte=0), name="billing_held_not_negative"),
            # The rule "a member wallet never goes negative, holds included": the balance
            # trigger and the hold UPDATE both run into it under any concurrency.
            models.CheckConstraint(
                condition=~Q(kind="member_wallet") | Q(balance__gte=models.F("held")),
                name="billing_wallet_not_negative",
            ),
            models.CheckConstraint(
                condition=~Q(kind="member_wallet") | Q(user__isnull=False), name="billing_wallet_has_user"
            ),
        ]

    def __str__(self) -> str:
        owner = self.user or self.community or self.provider or "platform"
        return f"{self.get_kind_display()} {owner} ({self.currency})"

    @property
    def available(self) -> Decimal:
        return self.balance - self.held


class PostingKind(models.TextChoices):
    TOPUP = "topup", _("Top-up")
    WITHDRAWAL = "withdrawal", _("Withdrawal")
    SETTLEMENT = "settlement", _("Settlement")
    P2P = "p2p", _("P2P transfer")
    FEE = "fee", _("Fee")
    CORRECTION = "correction", _("Correction")
    # what a member owes a community (Receivable): collected from the wallet, paid outside
    # the platform, or written off by the community
    COLLECTION = "collection", _("Collection of what is owed")
    OUTSIDE_PAYMENT = "outside_payment", _("Paid outside the platform")
    WRITE_OFF = "write_off", _("Write-off")


class EntryKind(models.TextChoices):
    """What one leg means to its account's holder (the wallet history's `kind`)."""

    TOPUP = "topup", _("Top-up")
    WITHDRAWAL = "withdrawal", _("Withdrawal")
    SETTLEMENT_CREDIT = "settlement_credit", _("Settlement credit")
    P2P_PURCHASE = "p2p_purchase", _("P2P purchase")
    P2P_SALE = "p2p_sale", _("P2P sale")
    FEE = "fee", _("Fee")
    CORRECTION = "correction", _("Correction")
    COLLECTION = "collection", _("Collection of what is owed")
    OUTSIDE_PAYMENT = "outside_payment", _("Paid outside the platform")
    WRITE_OFF = "write_off", _("Write-off")
    OTHER = "other", _("Other")


class PostingQuerySet(ScopedQuerySet):
    def _scope(self, user):
        return self.filter(legs__account__in=Account.objects.visible_to(user)).distinct()


class Posting(models.Model):
    """A balanced set of legs, written once. A correction is a new posting (`corrects`)."""

    idempotency_key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=16, choices=PostingKind.choices)
    currency = models.CharField(max_length=3, default="EUR")
    reason = models.CharField(max_length=300, blank=True)
    community = models.ForeignKey(
        "communities.Community", null=True, blank=True, on_delete=models.PROTECT, related_name="postings"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    corrects = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = PostingQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # one reversal per posting: reversing twice would post the money back twice
            models.UniqueConstraint(
                fields=["corrects"], condition=Q(kind="correction"), name="billing_one_reversal_per_posting"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} {self.reason}".strip()


class LegQuerySet(ScopedQuerySet):
    def _scope(self, user):
        return self.filter(account__in=Account.objects.visible_to(user))


class Leg(models.Model):
    posting = models.ForeignKey(Posting, on_delete=models.PROTECT, related_name="legs")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="legs")
    amount = models.DecimalField(**MONEY, help_text="Signed: positive adds to the account's balance.")
    kind = models.CharField(max_length=20, choices=EntryKind.choices, default=EntryKind.OTHER)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = LegQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            # wallet history: one account's entries, newest first, filtered by kind/period
            models.Index(fields=["account", "-id"]),
        ]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="billing_leg_not_zero")]

    def __str__(self) -> str:
        return f"{self.amount} {self.account_id}"


class PaymentStatus(models.TextChoices):
    CREATED = "created", _("Created")
    PENDING = "pending", _("Waiting for the payer")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class UserOwnedQuerySet(ScopedQuerySet):
    def _scope(self, user):
        if user.role == "vendor":
            return self.filter(user__memberships__community__organization_id=user.organization_id).distinct()
        if user.role == "referent":
            return self.filter(Q(user=user) | Q(user__memberships__community__referents=user)).distinct()
        return self.filter(user=user)


class Payment(models.Model):
    """A top-up: the wallet is credited only when the provider confirms (a callback)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=32)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, default="EUR")
    status = models.CharField(max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.CREATED)
    provider_ref = models.CharField(max_length=200, blank=True, db_index=True)
    client_data = models.JSONField(
        default=dict, blank=True, help_text="What the client needs to pay (redirect URL, client secret)."
    )
    posting = models.OneToOneField(Posting, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="billing_payment_positive")]

    def __str__(self) -> str:
        return f"Payment {self.uuid} {self.amount} {self.currency} {self.status}"


class PayoutStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested (to send)")
    SENT = "sent", _("Sent to the provider")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed")


class Payout(models.Model):
    """A withdrawal. Requesting it places a hold (the outbox row); the provider is called
    after commit; success posts the withdrawal, failure releases the hold."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payouts")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="payouts")
    provider = models.CharField(max_length=32)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, default="EUR")
    iban = models.CharField(max_length=34)
    status = models.CharField(max_length=16, choices=PayoutStatus.choices, default=PayoutStatus.REQUESTED)
    provider_ref = models.CharField(max_length=200, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    failure_reason = models.CharField(max_length=300, blank=True)
    posting = models.OneToOneField(Posting, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # the outbox sweep: payouts still to send, oldest first
            models.Index(fields=["status", "created_at"]),
        ]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="billing_payout_positive")]

    def __str__(self) -> str:
        return f"Payout {self.uuid} {self.amount} {self.currency} {self.status}"

    @property
    def iban_masked(self) -> str:
        return f"{self.iban[:4]}…{self.iban[-4:]}"


class ProviderEventQuerySet(ScopedQuerySet):
    def _scope(self, user):
        return self.none()


class ProviderEvent(models.Model):
    """Every callback received, recorded before it is processed (dedupe on the event id)."""

    provider = models.CharField(max_length=32)
    event_id = models.CharField(max_length=200)
    type = models.CharField(max_length=100)
    payload = models.JSONField(default=dict)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    payout = models.ForeignKey(Payout, null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    outcome = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    objects = ProviderEventQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="billing_event_once")]

    def __str__(self) -> str:
        return f"{self.provider} {self.type} {self.event_id}"


class IdempotentRequest(models.Model):
    """The first answer to a POST carrying an `Idempotency-Key`, replayed for retries."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=64)
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "scope", "key"], name="billing_idem_once")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"


class AuditEntry(models.Model):
    """A staff action on money (STYLE.md habit 17), written in the same transaction."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200)
    posting = models.ForeignKey(Posting, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.action} {self.object_repr}"


class ReceivableQuerySet(ScopedQuerySet):
    """A member sees what they owe; the community's referents (and its organization's
    vendors) see and manage what is owed to it."""

    def _scope(self, user):
        from communities.models import Community

        return self.filter(Q(user=user) | Q(community__in=Community.objects.managed_by(user).values("pk")))

    def _manage_scope(self, user):
        from communities.models import Community

        return self.filter(community__in=Community.objects.managed_by(user).values("pk"))


class ReceivableStatus(models.TextChoices):
    OPEN = "open", _("Open")
    SETTLED = "settled", _("Settled")


class Receivable(models.Model):
    """What one member owes one community, beyond their wallet: the sub-ledger of its
    `member_receivable` account (owed = minus the account's balance). Its entries say where
    each euro came from (the settlement line) and how it went (collected from the wallet,
    paid outside the platform, written off). Status is computed from the balance."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="receivables")
    community = models.ForeignKey(
        "communities.Community", on_delete=models.PROTECT, related_name="receivables"
    )
    currency = models.CharField(max_length=3, default="EUR")
    account = models.OneToOneField(Account, on_delete=models.PROTECT, related_name="receivable")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ReceivableQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "community", "currency"], name="billing_one_receivable"),
        ]

    def __str__(self) -> str:
        return f"{self.user} owes {self.community} ({self.currency})"

    @property
    def owed(self) -> Decimal:
        """What is still owed (never negative: the account's balance is at most zero)."""
        return max(-self.account.balance, Decimal("0.00"))

    @property
    def status(self) -> str:
        return ReceivableStatus.OPEN if self.owed > 0 else ReceivableStatus.SETTLED


class ReceivableEntryKind(models.TextChoices):
    CHARGE = "charge", _("Owed from a settlement line")
    COLLECTION = "collection", _("Collected from the wallet")
    OUTSIDE_PAYMENT = "outside_payment", _("Paid outside the platform")
    WRITE_OFF = "write_off", _("Written off")
    CORRECTION = "correction", _("Correction (a reversed posting)")


class ReceivableEntry(models.Model):
    """One movement of a receivable, with its ledger posting. `amount` is positive when it
    adds to what is owed (a charge), negative when it pays it off. A charge names the
    settlement run and line that created it (ids: billing does not import settlement)."""

    receivable = models.ForeignKey(Receivable, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=20, choices=ReceivableEntryKind.choices)
    amount = models.DecimalField(**MONEY)
    posting = models.ForeignKey(Posting, on_delete=models.PROTECT, related_name="receivable_entries")
    settlement_run_id = models.PositiveBigIntegerField(null=True, blank=True)
    settlement_line_id = models.PositiveBigIntegerField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "receivable entries"
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="billing_receivable_entry_not_zero"),
            # one entry per posting and receivable: a re-run posting adds nothing twice
            models.UniqueConstraint(fields=["receivable", "posting"], name="billing_receivable_entry_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"
