"""A buyer withdrawing from their wallet while the market settles: the wallet never goes
negative and never below its holds (real PostgreSQL, committed transactions, one
connection per thread)."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connections
from django.test import override_settings
from rest_framework.test import APIClient

from billing import ledger
from billing.models import Payout
from billing.tests.helpers import VALID_IBAN, fund
from billing.verify import ledger_verify
from market.models import Delivery, Suspension
from market.settlement import deliveries_settle
from market.tests.conftest import allocation_make, offer_make

pytestmark = pytest.mark.django_db(transaction=True)
Q = timedelta(minutes=15)
WITHDRAWALS = 6


@override_settings(BILLING_WITHDRAW_DAILY_LIMIT_EUR=Decimal("100000"))
def test_concurrent_withdrawals_and_settlement_never_overdraw(market):
    fund(market.buyer, "2.00")
    allocation = allocation_make(market, offer_make(market, price="0.25"), market.buyer)
    intervals = {market.t0 + i * Q: 1.0 for i in range(4)}  # 4 x 1 kWh x 0.25 = 1.00 (fee 0.0025 -> 0)
    market.inject(intervals)
    market.withdraw(market.buyer_point, intervals)
    start = threading.Barrier(WITHDRAWALS + 1)

    def withdraw(i):
        try:
            client = APIClient()
            client.force_authenticate(market.buyer)
            start.wait()
            return client.post(
                "/api/v1/wallet/withdraw",
                {"amount": "0.50", "iban": VALID_IBAN},
                format="json",
                HTTP_IDEMPOTENCY_KEY=f"mw-{i}",
            ).status_code
        finally:
            connections.close_all()

    def settle():
        try:
            start.wait()
            return deliveries_settle(community=market.community, start=market.t0, end=market.t0 + 4 * Q)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(WITHDRAWALS + 1) as pool:
        settling = pool.submit(settle)
        codes = list(pool.map(withdraw, range(WITHDRAWALS)))
        result = settling.result()
    assert set(codes) <= {201, 409} and 409 in codes, codes  # 6 x 0.50 + 1.00 > 2.00: someone was refused
    wallet = ledger.account_wallet(user=market.buyer)
    delivered = sum(d.total_eur for d in Delivery.objects.filter(allocation=allocation))
    held = sum(p.amount for p in Payout.objects.filter(user=market.buyer))
    assert wallet.balance >= 0 and wallet.balance >= wallet.held
    assert held == Decimal("0.50") * codes.count(201)
    assert delivered + held <= Decimal("2.00")
    assert wallet.balance == Decimal("2.00") - delivered - (
        held - wallet.held
    )  # paid payouts left the wallet
    assert result.deliveries == Delivery.objects.count()
    if result.suspended:  # a suspension is recorded with its reason
        assert Suspension.objects.get(allocation=allocation).reason.startswith("Insufficient funds")
    else:
        assert delivered == Decimal("1.00")
    assert ledger_verify().ok
