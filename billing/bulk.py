"""`postings_create_bulk` (see `billing.ledger`): many postings in one transaction.

Posting a settlement run line by line paid, per line, a savepoint, an INSERT of the posting
and one of its legs, and the round trips between them (13-40 s for 1,000 members). Here the
batch is planned in memory against the locked accounts (the same rules as one by one: a
capped debit takes what the wallet has available at that point, a credit collects what the
member owes at once), then written with one INSERT of the postings and one of the legs, in
the order the one-by-one path would have written them. The database keeps every guarantee:
the balance trigger updates each account per leg (so the wallet's CHECK still refuses an
overdraft), the deferred trigger checks each posting balances at commit, the unique key
refuses a duplicate.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from billing import receivables
from billing.ledger import (
    InsufficientFunds,
    LegSpec,
    PostingSpec,
    _check_legs,
    _constraint,
    account_member_receivable,
    accounts_lock,
)
from billing.models import AccountKind, EntryKind, Leg, Posting, PostingKind, Receivable
from core.exceptions import Conflict, Invalid


class _Plan:
    """The batch in memory: balances as the postings so far leave them."""

    def __init__(self, locked: dict):
        self.accounts = locked
        self.balance = {pk: a.balance for pk, a in locked.items()}
        self.postings: list[tuple[Posting, list[LegSpec], dict]] = []

    def available(self, account) -> Decimal:
        return self.balance[account.pk] - self.accounts[account.pk].held

    def apply(self, legs: list[LegSpec]) -> None:
        for leg in legs:
            self.balance[leg.account.pk] = (
                self.balance.setdefault(leg.account.pk, leg.account.balance) + leg.amount
            )
            account = self.accounts.setdefault(leg.account.pk, leg.account)
            if account.kind == AccountKind.MEMBER_WALLET and self.balance[account.pk] < account.held:
                raise InsufficientFunds()


def _resolve_cap(spec: PostingSpec, plan: _Plan) -> tuple[list[LegSpec], dict]:
    """A capped wallet debit: what the wallet has available, the rest owed to the community."""
    legs, cap = list(spec.legs), spec.cap
    if cap is None:
        return legs, {}
    wallet = plan.accounts[cap.account.pk]
    owed = -cap.amount
    debited = min(owed, max(plan.available(wallet), Decimal(0)))
    if debited:
        legs.append(LegSpec(wallet, -debited, cap.kind))
    rest = owed - debited
    extra = {"debited": debited, "shortfall": rest}
    if rest:
        due = account_member_receivable(
            user=cap.account.user, community=spec.community, currency=wallet.currency
        )
        legs.append(LegSpec(plan.accounts.setdefault(due.pk, due), -rest, cap.kind))
        extra["receivable"] = Receivable.objects.get(account=due)
    return legs, extra


def _collections(position: int, legs: list[LegSpec], plan: _Plan, owing: dict, currency: str) -> list:
    """What a credit collects, as `posting_create` would right after it (same rule, same
    order); the keys are filled in once the credit has its id."""
    out = []
    for user_id in sorted(receivables.credited_users(legs)):
        wallet = next(
            leg.account
            for leg in legs
            if leg.account.user_id == user_id and leg.account.kind == AccountKind.MEMBER_WALLET
        )
        for receivable in owing.get(user_id, ()):
            if receivable.currency != currency:
                continue
            amount = receivables.collect_amount(
                owed=-plan.balance[receivable.account_id], available=plan.available(wallet)
            )
            if not amount:
                continue
            account = plan.accounts[receivable.account_id]
            coll = sorted(
                [
                    LegSpec(wallet, -amount, EntryKind.COLLECTION),
                    LegSpec(account, amount, EntryKind.COLLECTION),
                ],
                key=lambda leg: leg.account.pk,
            )
            plan.apply(coll)
            out.append((position, receivable, amount, coll))
    return out


def postings_create_bulk(*, specs: list[PostingSpec], actor) -> list[Posting]:
    for spec in specs:
        if not spec.idempotency_key:
            raise Invalid(gettext("A posting needs an idempotency key."))
    keys = [s.idempotency_key for s in specs]
    if len(set(keys)) != len(keys):
        raise Invalid(gettext("Two postings of a batch share an idempotency key."))
    try:
        with transaction.atomic():
            return _post(specs, actor)
    except IntegrityError as exc:
        if _constraint(exc) == "billing_wallet_not_negative":
            raise InsufficientFunds() from None
        if _constraint(exc) == "billing_one_reversal_per_posting":
            raise Conflict(gettext("This posting has already been reversed.")) from None
        raise


def _post(specs: list[PostingSpec], actor) -> list[Posting]:
    accounts = {leg.account.pk: leg.account for s in specs for leg in [*s.legs, *([s.cap] if s.cap else [])]}
    credited = set().union(*(receivables.credited_users(s.legs) for s in specs)) if specs else set()
    owing: dict[int, list[Receivable]] = {}
    for r in (
        Receivable.objects.filter(user_id__in=credited).select_related("community", "account").order_by("pk")
    ):
        owing.setdefault(r.user_id, []).append(r)
    ids = list(accounts) + [r.account_id for rs in owing.values() for r in rs]
    # every account of the batch locked at once, in primary-key order; then the keys already
    # posted are read (a concurrent duplicate touches the same accounts: it waited for us)
    locked = accounts_lock(ids)
    for rs in owing.values():
        for r in rs:
            r.account = locked[r.account_id]
    existing = {
        p.idempotency_key: p
        for p in Posting.objects.filter(idempotency_key__in=[s.idempotency_key for s in specs])
    }
    plan = _Plan(locked)
    out: list[Posting] = []
    planned: list[tuple[Posting, list[LegSpec], dict]] = []
    collections: list[tuple] = []
    for spec in specs:
        if spec.idempotency_key in existing:
            posting = existing[spec.idempotency_key]
            posting.created = False
            out.append(posting)
            continue
        legs, extra = _resolve_cap(spec, plan)
        if extra.get("receivable") is not None:
            # owed from now on: a later credit of the batch collects it, as one by one would
            new = extra["receivable"]
            mine = owing.setdefault(new.user_id, [])
            if all(r.pk != new.pk for r in mine):
                new.account = plan.accounts[new.account_id]
                mine.append(new)
                mine.sort(key=lambda r: r.pk)
        currency = legs[0].account.currency if legs else ""
        _check_legs(legs, currency)
        legs.sort(key=lambda leg: leg.account.pk)
        plan.apply(legs)
        posting = Posting(
            idempotency_key=spec.idempotency_key,
            kind=spec.kind,
            currency=currency,
            reason=spec.reason[:300],
            actor=actor if getattr(actor, "pk", None) else None,
            corrects=spec.corrects,
            community=spec.community,
        )
        posting.created = True
        for name, value in extra.items():
            setattr(posting, name, value)
        planned.append((posting, legs, spec.trace))
        out.append(posting)
        collections += [
            (len(planned) - 1, *c) for c in _collections(len(planned) - 1, legs, plan, owing, currency)
        ]
    if not planned:
        return out
    Posting.objects.bulk_create([p for p, _, _ in planned], batch_size=2000)
    # the collections' keys name their credit's id, as posting them one by one would
    by_credit: dict[int, list] = {}
    for index, _, receivable, amount, legs in collections:
        posting = Posting(
            idempotency_key=receivables.collection_key(
                credit_posting_id=planned[index][0].pk, receivable_id=receivable.pk
            ),
            kind=PostingKind.COLLECTION,
            currency=receivable.currency,
            reason=f"Collected for what is owed to {receivable.community.slug}",
            actor=actor if getattr(actor, "pk", None) else None,
            community=receivable.community,
        )
        by_credit.setdefault(index, []).append((posting, legs, receivable, amount))
    Posting.objects.bulk_create([c[0] for cs in by_credit.values() for c in cs], batch_size=2000)
    # legs in the order the postings happened: a wallet's credit lands before the debit it covers
    rows = []
    for index, (posting, legs, _) in enumerate(planned):
        rows += [
            Leg(posting=posting, account_id=leg.account.pk, amount=leg.amount, kind=leg.kind) for leg in legs
        ]
        for coll, legs_c, _, _ in by_credit.get(index, ()):
            rows += [
                Leg(posting=coll, account_id=leg.account.pk, amount=leg.amount, kind=leg.kind)
                for leg in legs_c
            ]
    Leg.objects.bulk_create(rows, batch_size=5000)
    for index, (posting, _, trace) in enumerate(planned):
        if getattr(posting, "shortfall", None):
            receivables.charged(
                receivable=posting.receivable, posting=posting, amount=posting.shortfall, trace=trace
            )
        for coll, _, receivable, amount in by_credit.get(index, ()):
            coll.created = True
            receivables.collected(
                receivable=receivable, posting=coll, amount=amount, actor=actor, trigger=posting.pk
            )
    return out
