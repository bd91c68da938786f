"""What members owe communities (`Receivable`): collected from the wallet whenever it is
credited, or settled by the community's referents (paid outside the platform, written off).

A receivable is the sub-ledger of a `member_receivable` account (one per member, community
and currency; owed = minus its balance). Money moves only through ledger postings:

- charge (settlement: a negative share beyond the wallet): GSE's receivable +owed, the
  wallet -what it has, the member's receivable -the rest (`settlement.services`);
- collection: wallet -x, receivable +x, x = min(owed, the wallet's available balance),
  posted in the transaction of the credit that triggered it (idempotency key
  `collect:<credit posting>:<receivable>`), the member's accounts row-locked;
- outside payment: receivable +x, the community's `outside` clearing account -x (money
  entering the ledger outside the platform, as a top-up enters through its provider's);
- write-off: receivable +x, community fund -x (the community bears the loss).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext

import audit
from billing.models import (
    CENT,
    Account,
    AccountKind,
    AuditEntry,
    EntryKind,
    PostingKind,
    Receivable,
    ReceivableEntry,
    ReceivableEntryKind,
    ReceivableStatus,
)
from core.exceptions import Conflict, Invalid
from core.scoping import get_manageable

ZERO = Decimal("0.00")
METHODS = {
    "outside_payment": (
        PostingKind.OUTSIDE_PAYMENT,
        EntryKind.OUTSIDE_PAYMENT,
        ReceivableEntryKind.OUTSIDE_PAYMENT,
    ),
    "write_off": (PostingKind.WRITE_OFF, EntryKind.WRITE_OFF, ReceivableEntryKind.WRITE_OFF),
}


def collect_amount(*, owed: Decimal, available: Decimal) -> Decimal:
    """What a credit collects for one receivable: all that is owed, up to what the wallet
    has available (balance minus holds); never negative. Both posting paths use it."""
    if owed <= 0 or available <= 0:
        return ZERO
    return min(owed, available)


def collection_key(*, credit_posting_id: int, receivable_id: int) -> str:
    return f"collect:{credit_posting_id}:{receivable_id}"


def credited_users(legs) -> set[int]:
    """Members whose wallet these legs credit. A posting that itself moves a receivable (a
    charge, a collection or its reversal) triggers no collection: reversing a collection
    gives the money back, it must not be taken again at once."""
    if any(leg.account.kind == AccountKind.MEMBER_RECEIVABLE for leg in legs):
        return set()
    return {
        leg.account.user_id
        for leg in legs
        if leg.amount > 0 and leg.account.kind == AccountKind.MEMBER_WALLET
    }


def owing_of(*, legs, currency: str) -> list[Receivable]:
    """The receivables of the members these legs credit (all of them, settled ones too: a
    balance read before the lock may be stale), oldest first: the order they are collected in."""
    users = credited_users(legs)
    if not users:
        return []
    return list(
        Receivable.objects.filter(user_id__in=users, currency=currency)
        .select_related("community")
        .order_by("pk")
    )


def collect_after_credit(*, posting, owing: list[Receivable], actor) -> list:
    """Collect what the credited members owe from their wallets, in the credit's
    transaction (the accounts are locked by the caller). Returns the collection postings."""
    from billing.ledger import LegSpec, posting_create

    users = {r.user_id for r in owing}
    wallets = {
        a.user_id: a
        for a in Account.objects.filter(
            kind=AccountKind.MEMBER_WALLET, user_id__in=users, currency=posting.currency
        )
    }
    balances = dict(Account.objects.filter(pk__in=[r.account_id for r in owing]).values_list("pk", "balance"))
    done = []
    for receivable in owing:
        wallet = wallets.get(receivable.user_id)
        if wallet is None:
            continue
        amount = collect_amount(owed=-balances[receivable.account_id], available=wallet.balance - wallet.held)
        if not amount:
            continue
        collection = posting_create(
            legs=[
                LegSpec(wallet, -amount, EntryKind.COLLECTION),
                LegSpec(receivable.account, amount, EntryKind.COLLECTION),
            ],
            idempotency_key=collection_key(credit_posting_id=posting.pk, receivable_id=receivable.pk),
            kind=PostingKind.COLLECTION,
            reason=f"Collected for what is owed to {receivable.community.slug}",
            actor=actor,
            community=receivable.community,
        )
        if collection.created:
            wallet.balance -= amount
            collected(
                receivable=receivable, posting=collection, amount=amount, actor=actor, trigger=posting.pk
            )
            done.append(collection)
    return done


def collected(*, receivable: Receivable, posting, amount: Decimal, actor, trigger: int) -> None:
    """The entry and the audit row of one collection (both posting paths)."""
    ReceivableEntry.objects.create(
        receivable=receivable, kind=ReceivableEntryKind.COLLECTION, amount=-amount, posting=posting
    )
    audit.record(
        actor=actor,
        action="receivable.collect",
        obj=receivable,
        target_user=receivable.user,
        detail={
            "community": receivable.community_id,
            "amount": str(amount),
            "posting": posting.pk,
            "credit_posting": trigger,
        },
    )


def charged(*, receivable: Receivable, posting, amount: Decimal, trace: dict) -> None:
    """The entry of a charge (what a posting booked as owed), traced to its origin."""
    ReceivableEntry.objects.create(
        receivable=receivable,
        kind=ReceivableEntryKind.CHARGE,
        amount=amount,
        posting=posting,
        settlement_run_id=trace.get("settlement_run_id"),
        settlement_line_id=trace.get("settlement_line_id"),
    )


def reversed_legs(*, reversal, legs) -> None:
    """A reversed posting that moved a receivable (a collection given back, a charge
    cancelled): its entries, so the receivable's entries still add up to what is owed."""
    for leg in legs:
        if leg.account.kind == AccountKind.MEMBER_RECEIVABLE:
            receivable = Receivable.objects.filter(account_id=leg.account.pk).first()
            if receivable is not None:
                ReceivableEntry.objects.create(
                    receivable=receivable,
                    kind=ReceivableEntryKind.CORRECTION,
                    amount=-leg.amount,
                    posting=reversal,
                )


# --- settling by hand -------------------------------------------------------------------


def _amount(raw, owed: Decimal) -> Decimal:
    if raw is None or raw == "":
        return owed
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        raise Invalid(gettext("amount: a number is required."), details={"amount": ["A number is required."]})
    try:
        amount = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise Invalid(
            gettext("amount: a number is required."), details={"amount": ["A number is required."]}
        ) from None
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(CENT):
        raise Invalid(
            gettext("amount: a positive amount to the cent."),
            details={"amount": ["A positive amount, at most 2 decimals."]},
        )
    if amount > owed:
        raise Invalid(
            gettext("amount: more than what is owed (%(owed)s).") % {"owed": owed},
            details={"amount": [f"At most {owed}."]},
        )
    return amount


def receivable_settle(
    *, actor, receivable_id: int, method: str, amount=None, note: str = ""
) -> ReceivableEntry:
    """Settle (part of) what a member owes a community by hand: `outside_payment` (they paid
    the community outside the platform) or `write_off` (the community gives it up, from its
    fund). For the community's referents and admins: `NotFound` outside their scope,
    `Forbidden` for the member; `amount` defaults to all that is owed; audited."""
    from billing.ledger import (
        LegSpec,
        account_community_fund,
        account_outside_payments,
        accounts_lock,
        posting_create,
    )

    receivable = get_manageable(
        Receivable.objects.select_related("community", "user"),
        actor,
        pk=receivable_id,
        message=gettext("Only the community's referents settle what is owed to it."),
    )
    if not isinstance(method, str) or method not in METHODS:
        raise Invalid(gettext("method: outside_payment or write_off."), details={"method": list(METHODS)})
    note = (note or "").strip()
    if not note:
        raise Invalid(
            gettext("note: say why (who paid, or why it is written off)."), details={"note": ["Required."]}
        )
    posting_kind, entry_kind, kind = METHODS[method]
    community = receivable.community
    with transaction.atomic():
        other = (account_outside_payments if method == "outside_payment" else account_community_fund)(
            community=community, currency=receivable.currency
        )
        locked = accounts_lock([receivable.account_id, other.pk])
        owed = max(-locked[receivable.account_id].balance, ZERO)
        if not owed:
            raise Conflict(gettext("Nothing is owed."), error="NothingOwed")
        amount = _amount(amount, owed)
        number = receivable.entries.count()
        posting = posting_create(
            legs=[
                LegSpec(locked[receivable.account_id], amount, entry_kind),
                LegSpec(other, -amount, entry_kind),
            ],
            idempotency_key=f"receivable:{receivable.pk}:{number}:{method}",
            kind=posting_kind,
            reason=f"{community.slug}: {ReceivableEntryKind(kind).label}",
            actor=actor,
            community=community,
        )
        entry = ReceivableEntry.objects.create(
            receivable=receivable, kind=kind, amount=-amount, posting=posting, actor=actor, note=note[:300]
        )
        AuditEntry.objects.create(
            actor=actor,
            action=f"receivable_{method}",
            posting=posting,
            object_repr=f"receivable #{receivable.pk}",
        )
        audit.record(
            actor=actor,
            action=f"receivable.{method}",
            obj=receivable,
            target_user=receivable.user,
            detail={
                "community": community.pk,
                "amount": str(amount),
                "posting": posting.pk,
                "owed_before": str(owed),
            },
        )
    return entry


# --- reads ------------------------------------------------------------------------------


def receivables_list(*, user, community=None, status=None):
    """The receivables `user` may see (their own; their communities' when referent or
    admin), oldest first; `community` (id) and `status` (open / settled) filters."""
    qs = (
        Receivable.objects.visible_to(user).select_related("account", "community").prefetch_related("entries")
    )
    if community not in (None, ""):
        try:
            qs = qs.filter(community_id=int(community))
        except (TypeError, ValueError):
            raise Invalid(gettext("community: an id."), details={"community": ["An integer id."]}) from None
    if status not in (None, ""):
        if status not in ReceivableStatus.values:
            raise Invalid(
                gettext("status: open or settled."), details={"status": list(ReceivableStatus.values)}
            )
        qs = (
            qs.filter(account__balance__lt=0)
            if status == ReceivableStatus.OPEN
            else qs.filter(account__balance__gte=0)
        )
    return qs.order_by("pk")


def owed_by(*, user, currency: str) -> tuple[Decimal, list[dict]]:
    """What `user` owes in total and to whom: `[{receivable, community, name, amount}]`."""
    rows = (
        Receivable.objects.filter(user=user, currency=currency, account__balance__lt=0)
        .select_related("account", "community")
        .order_by("pk")
    )
    owed_to = [
        {
            "receivable": r.pk,
            "community": r.community_id,
            "name": r.community.name,
            "amount": -r.account.balance,
        }
        for r in rows
    ]
    return sum((o["amount"] for o in owed_to), ZERO), owed_to
