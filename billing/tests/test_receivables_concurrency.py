"""Concurrent credits of a member who owes a community collect what is owed once, against
the real PostgreSQL (committed transactions, one connection per thread)."""

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connections

from billing import ledger
from billing.models import Posting, Receivable, ReceivableEntry
from billing.tests.helpers import fund
from billing.tests.test_receivables import owe
from billing.verify import ledger_verify

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_credits_collect_what_is_owed_once(world):
    member, community = world.a.member, world.a.community
    owe(member, community, "10.00")

    def credit(_):
        try:
            fund(member, "3.00")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(credit, range(8)))
    wallet = ledger.account_wallet(user=member)
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("14.00")  # 24.00 credited, 10.00 collected, once
    assert Receivable.objects.get().owed == 0
    collected = ReceivableEntry.objects.filter(kind="collection")
    assert sum(e.amount for e in collected) == Decimal("-10.00")
    assert Posting.objects.filter(kind="collection").count() == collected.count() <= 4
    report = ledger_verify()
    assert report.ok, report.problems
