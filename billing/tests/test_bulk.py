"""`postings_create_bulk` against `posting_create` one by one: the same postings give the
same balances, legs and collections; a batch posted again posts nothing; a batch that would
overdraw a wallet posts nothing at all."""

from decimal import Decimal

import pytest

from billing import ledger
from billing.ledger import InsufficientFunds, LegSpec, PostingSpec
from billing.models import Account, EntryKind, Leg, Posting, PostingKind, Receivable
from billing.tests.test_receivables import owe
from billing.verify import ledger_verify
from conftest import make_user

pytestmark = pytest.mark.django_db


def _people(tag):
    return [make_user(f"{tag}{i}@example.com", "user") for i in range(3)]


def _specs(tag, people, community):
    """Top-ups, a P2P-like transfer, settlement credits and debits: credits of members who
    owe collect, a debit follows a credit of the same wallet."""
    gse = ledger.account_incentives_receivable(community=community)
    clearing = ledger.account_clearing(provider="dev")
    w = [ledger.account_wallet(user=p) for p in people]
    d = Decimal

    def spec(n, legs, kind=PostingKind.SETTLEMENT):
        return PostingSpec(
            legs=legs, idempotency_key=f"{tag}:{n}", kind=kind, community=community, reason=f"posting {n}"
        )

    return [
        spec(
            1,
            [LegSpec(clearing, d("-10.00"), "topup"), LegSpec(w[0], d("10.00"), "topup")],
            PostingKind.TOPUP,
        ),
        spec(
            2, [LegSpec(gse, d("-2.50"), "settlement_credit"), LegSpec(w[1], d("2.50"), "settlement_credit")]
        ),
        spec(3, [LegSpec(w[0], d("-4.00"), "p2p_purchase"), LegSpec(w[2], d("4.00"), "p2p_sale")]),
        spec(
            4, [LegSpec(gse, d("-0.01"), "settlement_credit"), LegSpec(w[2], d("0.01"), "settlement_credit")]
        ),
        spec(
            5, [LegSpec(gse, d("1.00"), "settlement_credit"), LegSpec(w[0], d("-1.00"), "settlement_credit")]
        ),
    ]


def _state(people, community):
    wallets = [Account.objects.get(kind="member_wallet", user=p).balance for p in people]
    owed = [Receivable.objects.get(user=p).owed for p in people]
    gse = ledger.account_incentives_receivable(community=community).balance
    return wallets, owed, gse


def test_bulk_posting_equals_posting_one_by_one(world):
    community = world.a.community
    single, bulk = _people("single"), _people("bulk")
    for people, base in ((single, 10), (bulk, 20)):
        for i, person in enumerate(people):
            owe(person, community, f"{i + 1}.00", line=base + i)  # 1.00, 2.00, 3.00 owed
    gse_before = ledger.account_incentives_receivable(community=community).balance
    legs_before = Leg.objects.count()
    for s in _specs("single", single, community):
        ledger.posting_create(
            legs=s.legs,
            idempotency_key=s.idempotency_key,
            kind=s.kind,
            reason=s.reason,
            community=s.community,
        )
    gse_mid = ledger.account_incentives_receivable(community=community).balance
    legs_mid = Leg.objects.count()
    posted = ledger.postings_create_bulk(specs=_specs("bulk", bulk, community))
    assert all(p.created for p in posted)
    assert _state(single, community)[:2] == _state(bulk, community)[:2]
    assert Leg.objects.count() - legs_mid == legs_mid - legs_before
    # 10.00 in: 1.00 collected; 2.50 in: 2.00 collected; 4.00 in: 3.00 collected; then 0.01
    assert _state(bulk, community)[:2] == (
        [Decimal("4.00"), Decimal("0.50"), Decimal("1.01")],
        [Decimal(0), Decimal(0), Decimal(0)],
    )
    assert gse_mid - gse_before == ledger.account_incentives_receivable(community=community).balance - gse_mid
    # the same collections, keyed on their credit as one by one
    for tag in ("single", "bulk"):
        credits = Posting.objects.filter(idempotency_key__startswith=f"{tag}:")
        keys = {p.idempotency_key for p in Posting.objects.filter(kind="collection", community=community)}
        assert sum(1 for k in keys if k.split(":")[1] in {str(c.pk) for c in credits}) == 3
    # posted again: nothing
    n = Posting.objects.count()
    again = ledger.postings_create_bulk(specs=_specs("bulk", bulk, community))
    assert not any(p.created for p in again) and [p.pk for p in again] == [p.pk for p in posted]
    assert Posting.objects.count() == n
    report = ledger_verify()
    assert report.ok, report.problems


def test_a_batch_that_would_overdraw_posts_nothing(world):
    community = world.a.community
    people = _people("over")
    w = ledger.account_wallet(user=people[0])
    gse = ledger.account_incentives_receivable(community=community)
    specs = [
        PostingSpec(
            legs=[
                LegSpec(gse, Decimal("-1.00"), "settlement_credit"),
                LegSpec(w, Decimal("1.00"), "settlement_credit"),
            ],
            idempotency_key="over:1",
            kind=PostingKind.SETTLEMENT,
            community=community,
        ),
        PostingSpec(
            legs=[
                LegSpec(gse, Decimal("2.00"), "settlement_credit"),
                LegSpec(w, Decimal("-2.00"), "settlement_credit"),
            ],
            idempotency_key="over:2",
            kind=PostingKind.SETTLEMENT,
            community=community,
        ),
    ]
    n = Posting.objects.count()
    with pytest.raises(InsufficientFunds):
        ledger.postings_create_bulk(specs=specs)
    assert Posting.objects.count() == n
    # capped, the same debit takes what the wallet has and books the rest as owed
    specs[1] = PostingSpec(
        legs=[LegSpec(gse, Decimal("2.00"), EntryKind.SETTLEMENT_CREDIT)],
        cap=LegSpec(w, Decimal("-2.00"), EntryKind.SETTLEMENT_CREDIT),
        idempotency_key="over:2",
        kind=PostingKind.SETTLEMENT,
        community=community,
    )
    _first, second = ledger.postings_create_bulk(specs=specs)
    assert (second.debited, second.shortfall) == (Decimal("1.00"), Decimal("1.00"))
    w.refresh_from_db()
    assert w.balance == 0 and Receivable.objects.get(user=people[0]).owed == Decimal("1.00")


def test_a_credit_later_in_the_batch_collects_what_the_batch_made_owed(world):
    community = world.a.community
    (person,) = [make_user("later@example.com", "user")]
    w = ledger.account_wallet(user=person)
    gse = ledger.account_incentives_receivable(community=community)
    specs = [
        PostingSpec(
            legs=[LegSpec(gse, Decimal("3.00"), EntryKind.SETTLEMENT_CREDIT)],
            cap=LegSpec(w, Decimal("-3.00"), EntryKind.SETTLEMENT_CREDIT),
            idempotency_key="later:1",
            kind=PostingKind.SETTLEMENT,
            community=community,
        ),
        PostingSpec(
            legs=[
                LegSpec(gse, Decimal("-5.00"), EntryKind.SETTLEMENT_CREDIT),
                LegSpec(w, Decimal("5.00"), EntryKind.SETTLEMENT_CREDIT),
            ],
            idempotency_key="later:2",
            kind=PostingKind.SETTLEMENT,
            community=community,
        ),
    ]
    owed, credit = ledger.postings_create_bulk(specs=specs)
    assert owed.shortfall == Decimal("3.00")
    w.refresh_from_db()
    assert w.balance == Decimal("2.00") and Receivable.objects.get(user=person).owed == 0
    assert Posting.objects.filter(
        idempotency_key=f"collect:{credit.pk}:{Receivable.objects.get().pk}"
    ).exists()
    report = ledger_verify()
    assert report.ok, report.problems
