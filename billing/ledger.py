"""The ledger's service API: account getters, `posting_create`, `postings_create_bulk`,
holds, `posting_reverse`.

Every writer posts through `posting_create` (one posting) or `postings_create_bulk` (many,
in one transaction: the settlement); nothing else inserts legs. Both collect what a member
owes (`billing.receivables`) whenever their wallet is credited. The database enforces
balance, append-only and the wallet's non-negative rule (see
migration 0002); this module turns those refusals into domain errors and makes a posting
idempotent on its key.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext

import audit
from billing.models import (
    CENT,
    Account,
    AccountKind,
    AuditEntry,
    EntryKind,
    Leg,
    Posting,
    PostingKind,
    Receivable,
)
from core.exceptions import Conflict, Invalid

logger = logging.getLogger("commonwatt.billing")


class InsufficientFunds(Conflict):
    """The wallet's available balance does not cover this amount."""

    error = "InsufficientFunds"


@dataclass(frozen=True)
class LegSpec:
    """One leg to post: `amount` is signed (positive adds to the account's balance)."""

    account: Account
    amount: Decimal
    kind: str = EntryKind.OTHER


# --- account getters -------------------------------------------------------------------


def _currency(currency: str | None) -> str:
    return currency or settings.BILLING_CURRENCY


def _account(**lookup) -> Account:
    account, _ = Account.objects.get_or_create(**lookup)
    return account


def account_wallet(*, user, currency: str | None = None) -> Account:
    """The member's wallet (one per user and currency; memberships are views on it)."""
    return _account(kind=AccountKind.MEMBER_WALLET, user=user, currency=_currency(currency))


def account_member_receivable(*, user, community, currency: str | None = None) -> Account:
    """What `user` owes `community` beyond their wallet (negative balance = owed), with
    its `Receivable` (the sub-ledger: where each euro came from, how it was paid)."""
    currency = _currency(currency or community.currency)
    account = _account(kind=AccountKind.MEMBER_RECEIVABLE, user=user, community=community, currency=currency)
    Receivable.objects.get_or_create(
        account=account, defaults={"user": user, "community": community, "currency": currency}
    )
    return account


def account_outside_payments(*, community, currency: str | None = None) -> Account:
    """Money a community received outside the platform (a member's bank transfer settling
    what they owe): where such money enters the ledger, one per community."""
    return _account(
        kind=AccountKind.PAYMENTS_CLEARING,
        provider="outside",
        user=None,
        community=community,
        currency=_currency(currency or community.currency),
    )


def account_community_fund(*, community, currency: str | None = None) -> Account:
    return _account(
        kind=AccountKind.COMMUNITY_FUND,
        community=community,
        currency=_currency(currency or community.currency),
    )


def account_incentives_receivable(*, community, currency: str | None = None) -> Account:
    """What the GSE (or the scheme's payer) owes the community."""
    return _account(
        kind=AccountKind.INCENTIVES_RECEIVABLE,
        community=community,
        currency=_currency(currency or community.currency),
    )


def account_clearing(*, provider: str, currency: str | None = None) -> Account:
    """Money in flight with a payment provider: where money enters and leaves the ledger."""
    return _account(
        kind=AccountKind.PAYMENTS_CLEARING,
        provider=provider,
        user=None,
        community=None,
        currency=_currency(currency),
    )


def account_payouts_pending(*, currency: str | None = None) -> Account:
    return _account(
        kind=AccountKind.PAYOUTS_PENDING, provider="", user=None, community=None, currency=_currency(currency)
    )


def account_platform_fees(*, currency: str | None = None) -> Account:
    return _account(
        kind=AccountKind.PLATFORM_FEES, provider="", user=None, community=None, currency=_currency(currency)
    )


# --- postings ---------------------------------------------------------------------------


def _constraint(exc: IntegrityError) -> str:
    diag = getattr(exc.__cause__, "diag", None)
    return (getattr(diag, "constraint_name", None) or "") if diag else ""


def _check_legs(legs: list[LegSpec], currency: str) -> None:
    if len(legs) < 2:
        raise Invalid(gettext("A posting needs at least two legs."), details={"legs": ["At least two legs."]})
    for leg in legs:
        if not isinstance(leg.amount, Decimal) or not leg.amount.is_finite():
            raise Invalid(gettext("Leg amounts are Decimals."),
                          details={"legs": ["Amounts must be Decimal."]})
        if leg.amount == 0 or leg.amount != leg.amount.quantize(CENT):
            raise Invalid(
                gettext("Leg amounts are non-zero, to the cent."),
                details={"legs": ["Non-zero amounts, at most 2 decimals."]},
            )
        if leg.account.currency != currency:
            raise Invalid(gettext("One posting never mixes currencies."),
                          details={"legs": ["Mixed currencies."]})
    if sum(leg.amount for leg in legs) != 0:
        raise Invalid(gettext("The legs do not sum to zero."), details={"legs": ["Legs must sum to zero."]})


def posting_create(
    *,
    legs: Iterable[LegSpec],
    idempotency_key: str,
    kind: str,
    reason: str = "",
    actor=None,
    corrects: Posting | None = None,
    community=None,
) -> Posting:
    """Post balanced `legs` once per `idempotency_key`.

    A second call with the same key (even concurrently) returns the first posting and posts
    nothing (`posting.created` is False then). Raises `InsufficientFunds` when a member
    wallet would go below its holds, `Invalid` for unbalanced or malformed legs.
    """
    from billing import receivables

    legs = list(legs)
    if not idempotency_key:
        raise Invalid(gettext("A posting needs an idempotency key."))
    currency = legs[0].account.currency if legs else settings.BILLING_CURRENCY
    _check_legs(legs, currency)
    # Lock accounts in one order (the balance trigger updates them): no deadlocks.
    legs.sort(key=lambda leg: leg.account.pk)
    # A credited member who owes a community: their receivables are locked with the legs'
    # accounts (one order), so concurrent credits collect what is owed once.
    owing = receivables.owing_of(legs=legs, currency=currency)
    # No read before the insert: the unique key decides (a concurrent duplicate waits on
    # the index until the first commits, then lands in the except below).
    try:
        with transaction.atomic():
            if owing:
                accounts_lock([leg.account.pk for leg in legs] + [r.account_id for r in owing])
            posting = Posting.objects.create(
                idempotency_key=idempotency_key,
                kind=kind,
                currency=currency,
                reason=reason[:300],
                actor=actor if getattr(actor, "pk", None) else None,
                corrects=corrects,
                community=community,
            )
            Leg.objects.bulk_create(
                [Leg(posting=posting, account=leg.account, amount=leg.amount, kind=leg.kind) for leg in legs]
            )
            if owing:
                receivables.collect_after_credit(posting=posting, owing=owing, actor=actor)
    except IntegrityError as exc:
        name = _constraint(exc)
        if name == "billing_wallet_not_negative":
            raise InsufficientFunds() from None
        if "idempotency_key" in name or name == "billing_posting_idempotency_key_key":
            existing = Posting.objects.get(idempotency_key=idempotency_key)
            existing.created = False
            return existing
        if name == "billing_one_reversal_per_posting":
            raise Conflict(gettext("This posting has already been reversed.")) from None
        raise
    posting.created = True
    return posting


def posting_reverse(*, posting: Posting, actor, reason: str = "") -> Posting:
    """The correcting posting: every leg of `posting` negated, linked to it. Once only."""
    legs = [
        LegSpec(account=leg.account, amount=-leg.amount, kind=EntryKind.CORRECTION)
        for leg in posting.legs.select_related("account")
    ]
    with transaction.atomic():
        reversal = posting_create(
            legs=legs,
            idempotency_key=f"reverse:{posting.pk}",
            kind=PostingKind.CORRECTION,
            reason=reason or f"Reversal of posting #{posting.pk}",
            actor=actor,
            corrects=posting,
            community=posting.community,
        )
        if reversal.created:
            # what a member owes follows the ledger: the reversal's receivable legs are entries too
            from billing import receivables

            receivables.reversed_legs(reversal=reversal, legs=legs)
        if reversal.created and actor is not None and getattr(actor, "pk", None):
            AuditEntry.objects.create(
                actor=actor, action="posting_reverse", posting=reversal, object_repr=f"posting #{posting.pk}"
            )
            audit.record(actor=actor, action="posting.reverse", obj=reversal,
                         detail={"reverses": posting.pk, "community": posting.community_id})
    return reversal


def accounts_lock(ids) -> dict[int, Account]:
    """Row-lock accounts in primary-key order (the order every writer locks them in)."""
    return {a.pk: a for a in Account.objects.select_for_update().filter(pk__in=set(ids)).order_by("pk")}


# --- many postings at once --------------------------------------------------------------


@dataclass
class PostingSpec:
    """One posting of `postings_create_bulk`. `cap`, when given, is a debit of a member
    wallet (negative amount) that takes only what the wallet has available at that point of
    the batch; the rest is booked on the member's receivable of `community` (what they owe
    it), so the posting still balances. `trace` (`settlement_run_id`, `settlement_line_id`)
    goes on the receivable's entry, so what is owed is traceable to what created it."""

    legs: list[LegSpec]
    idempotency_key: str
    kind: str
    reason: str = ""
    community: object = None
    corrects: Posting | None = None
    cap: LegSpec | None = None
    trace: dict = field(default_factory=dict)


def postings_create_bulk(*, specs: Iterable[PostingSpec], actor=None) -> list[Posting]:
    """Post many postings in one transaction, with the guarantees of `posting_create` (same
    idempotency keys: a key already posted posts nothing and comes back with `created`
    False; balances checked by the same database triggers; no wallet below its holds) and
    the same collection of what credited members owe, in the same order as posting them
    one by one would; but one lock of every account, one insert of the postings and one of
    the legs. Each returned posting carries `created` and, for a capped spec,
    `debited` / `shortfall` (what the wallet paid, what was booked as owed)."""
    from billing import bulk

    return bulk.postings_create_bulk(specs=list(specs), actor=actor)


# --- holds -----------------------------------------------------------------------------


def hold_place(*, account: Account, amount: Decimal) -> None:
    """Reserve `amount` of a wallet: available drops at once. The UPDATE takes the row lock
    and re-reads the committed balance; the table's CHECK backs it up."""
    placed = Account.objects.filter(pk=account.pk, balance__gte=F("held") + amount).update(
        held=F("held") + amount
    )
    if not placed:
        raise InsufficientFunds()


def hold_release(*, account: Account, amount: Decimal) -> None:
    Account.objects.filter(pk=account.pk).update(held=F("held") - amount)
