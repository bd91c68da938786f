"""Wallet and payment actions: top-ups, withdrawals (payouts), P2P transfers, callbacks.

Every money movement goes through `billing.ledger.posting_create`. Provider calls happen
outside database transactions: a top-up's payment row is committed before the provider is
asked; a withdrawal's payout row (the outbox) is committed with its hold and sent by a
Celery task after commit, re-swept by beat.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext

from billing import ledger, wallet_notify
from billing.ledger import LegSpec
from billing.models import (
    CENT,
    Account,
    EntryKind,
    Payment,
    PaymentStatus,
    Payout,
    PayoutStatus,
    PostingKind,
    ProviderEvent,
)
from billing.providers import ProviderError, SignatureError, provider_for_callback, provider_get
from core.exceptions import Conflict, Invalid, NotFound, TooMany

logger = logging.getLogger("commonwatt.billing")

IBAN_RE = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")


# --- input rules --------------------------------------------------------------------------


def money_parse(value, *, field: str = "amount") -> Decimal:
    """A positive amount to the cent, at most BILLING_MAX_AMOUNT_EUR; else `Invalid`."""

    def bad(message: str):
        return Invalid(f"{field}: {message}", details={field: [message]})

    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise bad('A number is required, e.g. "25.00".')
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise bad('A number is required, e.g. "25.00".') from None
    if not amount.is_finite():
        raise bad("A finite number is required.")
    if amount <= 0:
        raise bad("Must be greater than zero.")
    if amount > settings.BILLING_MAX_AMOUNT_EUR:
        raise bad(f"Must be at most {settings.BILLING_MAX_AMOUNT_EUR}.")
    if amount != amount.quantize(CENT):
        raise bad("At most 2 decimal places.")
    return amount.quantize(CENT)


def iban_normalise(value) -> str:
    """The IBAN without spaces, upper case, if its mod-97 check holds; else `Invalid`."""
    iban = re.sub(r"\s+", "", str(value or "")).upper()
    if not IBAN_RE.match(iban):
        raise Invalid(gettext("iban: Not an IBAN."), details={"iban": ["Not an IBAN."]})
    digits = "".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
    if int(digits) % 97 != 1:
        raise Invalid(
            gettext("iban: The IBAN's check digits are wrong."),
            details={"iban": ["The IBAN's check digits are wrong."]},
        )
    return iban


# --- top-ups ----------------------------------------------------------------------------------


def payment_create(*, actor, amount: Decimal) -> Payment:
    """The payment row for a top-up (committed before the provider is asked)."""
    ledger.account_wallet(user=actor)
    return Payment.objects.create(
        user=actor, provider=settings.BILLING_PROVIDER, amount=amount, currency=settings.BILLING_CURRENCY
    )


def payment_start(*, payment: Payment) -> Payment:
    """Ask the provider what the client needs to pay. Call outside a transaction; safe to
    repeat (the provider dedupes on our payment id)."""
    if payment.status != PaymentStatus.CREATED:
        return payment
    try:
        start = provider_get(payment.provider).payment_create(payment)
    except ProviderError as exc:
        logger.warning("billing: provider %s refused payment %s: %s", payment.provider, payment.uuid, exc)
        raise Conflict(
            gettext("The payment provider is not available; try again later."), error="ProviderUnavailable"
        ) from None
    updated = Payment.objects.filter(pk=payment.pk, status=PaymentStatus.CREATED).update(
        provider_ref=start.ref, client_data=start.client_data, status=PaymentStatus.PENDING
    )
    if updated:
        payment.provider_ref, payment.client_data, payment.status = (
            start.ref,
            start.client_data,
            PaymentStatus.PENDING,
        )
    else:
        payment.refresh_from_db()
    return payment


def _payment_event(event, provider: str) -> str:
    qs = Payment.objects.select_for_update().filter(provider=provider)
    payment = qs.filter(provider_ref=event.ref).first() if event.ref else None
    if payment is None and event.local_id:
        payment = qs.filter(uuid=event.local_id).first() if _is_uuid(event.local_id) else None
    if payment is None:
        logger.warning("billing: %s event %s for an unknown payment %s", provider, event.event_id, event.ref)
        return "unknown payment", None
    if event.type == "payment.failed":
        if payment.status == PaymentStatus.SUCCEEDED:
            logger.warning("billing: failure after success for payment %s ignored", payment.uuid)
            return "failure after success ignored", payment
        payment.status = PaymentStatus.FAILED
        payment.save(update_fields=["status", "updated_at"])
        return "payment failed", payment
    if event.amount is not None and (
        event.amount != payment.amount or (event.currency and event.currency != payment.currency)
    ):
        logger.error(
            "billing: payment %s confirmed for %s %s, expected %s %s",
            payment.uuid,
            event.amount,
            event.currency,
            payment.amount,
            payment.currency,
        )
        return "amount mismatch: not credited", payment
    posting = ledger.posting_create(
        legs=[
            LegSpec(
                ledger.account_clearing(provider=provider, currency=payment.currency),
                -payment.amount,
                EntryKind.TOPUP,
            ),
            LegSpec(
                ledger.account_wallet(user=payment.user, currency=payment.currency),
                payment.amount,
                EntryKind.TOPUP,
            ),
        ],
        idempotency_key=f"payment:{payment.uuid}",
        kind=PostingKind.TOPUP,
        reason=f"Top-up via {provider}",
    )
    payment.status = PaymentStatus.SUCCEEDED
    payment.posting = posting
    payment.save(update_fields=["status", "posting", "updated_at"])
    if posting.created:
        wallet_notify.topup_credited(payment)
    return ("credited" if posting.created else "already credited"), payment


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# --- withdrawals ------------------------------------------------------------------------------


def wallet_withdraw(*, actor, amount: Decimal, iban: str) -> Payout:
    """Hold `amount` and queue the payout (sent after commit). `InsufficientFunds` when the
    available balance does not cover it, `TooMany` past the daily limit."""
    iban = iban_normalise(iban)
    with transaction.atomic():
        account = ledger.account_wallet(user=actor)
        # One withdrawal request per wallet at a time: the daily sum below stays true.
        type(account).objects.select_for_update().get(pk=account.pk)
        since = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
        today = Payout.objects.filter(account=account, created_at__gte=since).exclude(
            status=PayoutStatus.FAILED
        ).aggregate(s=Sum("amount"))["s"] or Decimal("0")
        if today + amount > settings.BILLING_WITHDRAW_DAILY_LIMIT_EUR:
            raise TooMany(
                gettext("The daily withdrawal limit is %(limit)s %(currency)s; %(today)s already requested "
                        "today.") % {"limit": settings.BILLING_WITHDRAW_DAILY_LIMIT_EUR,
                                     "currency": account.currency, "today": today},
                details={"amount": ["Over the daily limit."]},
                retry_after_s=3600,
            )
        ledger.hold_place(account=account, amount=amount)
        payout = Payout.objects.create(
            user=actor,
            account=account,
            provider=settings.BILLING_PROVIDER,
            amount=amount,
            currency=account.currency,
            iban=iban,
        )
        transaction.on_commit(lambda: _enqueue_payout(payout.pk))
    return payout


def _enqueue_payout(payout_id: int) -> None:
    from billing.tasks import payout_send_task

    try:
        payout_send_task.delay(payout_id)
    except Exception:  # the beat sweep sends it later
        logger.warning("billing: could not queue payout %s; the sweep will send it", payout_id)


def payout_send(*, payout_id: int) -> Payout:
    """Send one requested payout to its provider (outside any transaction), then settle it."""
    with transaction.atomic():
        payout = (
            Payout.objects.select_for_update(skip_locked=True)
            .filter(pk=payout_id, status=PayoutStatus.REQUESTED)
            .first()
        )
        if payout is None:
            return Payout.objects.get(pk=payout_id)
        payout.attempts += 1
        payout.save(update_fields=["attempts", "updated_at"])
    try:
        start = provider_get(payout.provider).payout_create(payout)
    except ProviderError as exc:
        logger.warning("billing: payout %s not sent (%s); retried by the sweep", payout.uuid, exc)
        return payout
    if start.status == "pending":
        Payout.objects.filter(pk=payout.pk, status=PayoutStatus.REQUESTED).update(
            status=PayoutStatus.SENT, provider_ref=start.ref
        )
        payout.refresh_from_db()
        return payout
    return payout_settle(
        payout_id=payout.pk, paid=start.status == "paid", provider_ref=start.ref, reason=start.reason
    )


def payout_settle(*, payout_id: int, paid: bool, provider_ref: str = "", reason: str = "") -> Payout:
    """The provider's answer: paid posts the withdrawal and releases the hold; failed only
    releases the hold. A failure after payment (money returned) reverses the withdrawal."""
    with transaction.atomic():
        payout = Payout.objects.select_for_update(of=("self",)).select_related("account").get(pk=payout_id)
        clearing = ledger.account_clearing(provider=payout.provider, currency=payout.currency)
        # Lock both accounts in primary-key order, the order posting_create locks them in:
        # a concurrent top-up touching the same accounts cannot deadlock with us.
        list(
            Account.objects.select_for_update().filter(pk__in=[payout.account_id, clearing.pk]).order_by("pk")
        )
        if payout.status == PayoutStatus.PAID and not paid and payout.posting is not None:
            _payout_returned(payout, reason)
            return payout
        if payout.status in (PayoutStatus.PAID, PayoutStatus.FAILED):
            return payout
        ledger.hold_release(account=payout.account, amount=payout.amount)
        if paid:
            payout.posting = ledger.posting_create(
                legs=[
                    LegSpec(payout.account, -payout.amount, EntryKind.WITHDRAWAL),
                    LegSpec(clearing, payout.amount, EntryKind.WITHDRAWAL),
                ],
                idempotency_key=f"payout:{payout.uuid}",
                kind=PostingKind.WITHDRAWAL,
                reason=f"Withdrawal to {payout.iban_masked}",
            )
            payout.status = PayoutStatus.PAID
        else:
            payout.status = PayoutStatus.FAILED
            payout.failure_reason = (reason or "Refused by the provider")[:300]
        if provider_ref:
            payout.provider_ref = provider_ref
        payout.save()
        wallet_notify.withdrawal_settled(payout, paid=paid)
    return payout


def _payout_returned(payout: Payout, reason: str) -> None:
    """The bank returned a paid payout: reverse the withdrawal (the money is back)."""
    try:
        ledger.posting_reverse(
            posting=payout.posting, actor=None, reason=f"Payout {payout.uuid} returned: {reason}"[:300]
        )
    except Conflict:
        # Already reversed (an operator's correction): the money is back once, not twice.
        logger.warning("billing: payout %s returned, its withdrawal was already reversed", payout.uuid)
    payout.status = PayoutStatus.FAILED
    payout.failure_reason = (reason or "Returned after payment")[:300]
    payout.save(update_fields=["status", "failure_reason", "updated_at"])
    wallet_notify.withdrawal_returned(payout)


def payouts_sweep(*, older_than_s: int = 60) -> int:
    """Send payouts still `requested` (the outbox re-sweep, a beat task). Returns how many."""
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    ids = list(
        Payout.objects.filter(status=PayoutStatus.REQUESTED, created_at__lte=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:500]
    )
    for payout_id in ids:
        payout_send(payout_id=payout_id)
    return len(ids)


def _payout_event(event, provider: str) -> str:
    payout = Payout.objects.filter(provider=provider, provider_ref=event.ref).first() if event.ref else None
    if payout is None and event.local_id and _is_uuid(event.local_id):
        payout = Payout.objects.filter(provider=provider, uuid=event.local_id).first()
    if payout is None:
        logger.warning("billing: %s event %s for an unknown payout %s", provider, event.event_id, event.ref)
        return "unknown payout", None
    before = payout.status
    payout = payout_settle(
        payout_id=payout.pk,
        paid=event.type == "payout.paid",
        provider_ref=event.ref,
        reason=str(event.raw.get("type") or event.raw.get("event") or ""),
    )
    return f"payout {before} -> {payout.status}", payout


# --- callbacks ------------------------------------------------------------------------------

EVENT_INSERT = """
INSERT INTO billing_providerevent (provider, event_id, type, payload, outcome, received_at)
VALUES (%s, %s, %s, %s, '', now())
ON CONFLICT (provider, event_id) DO NOTHING RETURNING id
"""


def _event_record(provider: str, event) -> ProviderEvent | None:
    """Record the event once; None when it was already recorded (a replay). A concurrent
    duplicate waits on the unique index until the first delivery commits."""
    with connection.cursor() as cursor:
        cursor.execute(
            EVENT_INSERT, [provider, event.event_id[:200], event.type[:100], json.dumps(event.raw)]
        )
        inserted = cursor.fetchone()
    if inserted is None:
        return None
    return ProviderEvent(
        pk=inserted[0],
        provider=provider,
        event_id=event.event_id[:200],
        type=event.type[:100],
        payload=event.raw,
    )


def callback_receive(*, body: bytes, headers) -> tuple[ProviderEvent | None, str]:
    """Verify (raw body, before parsing), record once, process in the same transaction.

    Returns (event row, outcome). Raises `Invalid` for a bad or missing signature.
    Replays change nothing; out-of-order events are handled and logged."""
    provider = provider_for_callback(headers)
    if provider is None:
        raise Invalid(gettext("No signature header of an enabled payment provider."))
    try:
        event = provider.verify(body, headers)
    except SignatureError as exc:
        logger.warning("billing: %s callback refused: %s", provider.name, exc)
        raise Invalid(gettext("Signature check failed: %(reason)s") % {"reason": exc},
                      error="BadSignature") from None
    if not event.event_id:
        raise Invalid(gettext("The event has no id."))
    with transaction.atomic():
        row = _event_record(provider.name, event)
        if row is None:
            return ProviderEvent.objects.get(
                provider=provider.name, event_id=event.event_id[:200]
            ), "replayed"
        if event.type.startswith("payment."):
            outcome, row.payment = _payment_event(event, provider.name)
        elif event.type.startswith("payout."):
            outcome, row.payout = _payout_event(event, provider.name)
        else:
            outcome = "ignored"
        row.outcome = outcome
        row.save(update_fields=["outcome", "payment", "payout"])
    logger.info("billing: %s event %s (%s): %s", provider.name, event.event_id, event.type, outcome)
    return row, outcome


# --- P2P ---------------------------------------------------------------------------------------


def p2p_fee(amount: Decimal) -> Decimal:
    return (amount * settings.BILLING_P2P_FEE_PCT / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def wallet_transfer(
    *,
    buyer,
    seller,
    amount: Decimal,
    idempotency_key: str,
    actor=None,
    reason: str = "",
    community=None,
    fee: Decimal | None = None,
    notify: bool = True,
):
    """A P2P purchase: the buyer pays `amount`; the seller gets it minus the platform fee.

    Idempotent on `idempotency_key`; `InsufficientFunds` when the buyer's available
    balance does not cover it. `notify=False` skips the buyer's and seller's notifications
    (the market settles every 15 minutes: its wallet entries say it, not one message each)."""
    if buyer.pk == seller.pk:
        raise Invalid(gettext("A member cannot buy from themselves."))
    fee = p2p_fee(amount) if fee is None else fee
    if fee < 0 or fee >= amount:
        raise Invalid(gettext("The fee must be below the amount."))
    legs = [
        LegSpec(ledger.account_wallet(user=buyer), -amount, EntryKind.P2P_PURCHASE),
        LegSpec(ledger.account_wallet(user=seller), amount - fee, EntryKind.P2P_SALE),
    ]
    if fee:
        legs.append(LegSpec(ledger.account_platform_fees(), fee, EntryKind.FEE))
    with transaction.atomic():
        posting = ledger.posting_create(
            legs=legs,
            idempotency_key=idempotency_key,
            kind=PostingKind.P2P,
            reason=reason or "P2P energy purchase",
            actor=actor,
            community=community,
        )
        if posting.created and notify:
            wallet_notify.p2p_done(posting=posting, buyer=buyer, seller=seller, amount=amount, fee=fee,
                                   currency=legs[0].account.currency)
    return posting


def payment_for_checkout(*, uuid) -> Payment:
    payment = Payment.objects.filter(uuid=uuid, provider="dev").first()
    if payment is None:
        raise NotFound()
    return payment
