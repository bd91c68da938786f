"""Reliability under concurrency, against the real PostgreSQL (committed transactions,
one database connection per thread)."""

import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.test import override_settings
from rest_framework.test import APIClient

from billing import ledger, services
from billing.models import Leg, Payout, Posting, ProviderEvent
from billing.providers import PROVIDERS
from billing.tests.helpers import VALID_IBAN, fund
from billing.verify import ledger_verify

pytestmark = pytest.mark.django_db(transaction=True)

# 100 requests through a pool of this many threads (each thread its own connection): the
# shared PostgreSQL allows 100 connections for everyone.
WORKERS = 24


def _in_thread(fn):
    def run(*args):
        try:
            return fn(*args)
        finally:
            connections.close_all()

    return run


@override_settings(BILLING_WITHDRAW_DAILY_LIMIT_EUR=Decimal("100000"))
def test_100_concurrent_withdrawals_never_overdraw(world):
    fund(world.a.member, "100.00")
    start = threading.Barrier(WORKERS)

    @_in_thread
    def withdraw(i):
        if i < WORKERS:
            start.wait()
        client = APIClient()
        client.force_authenticate(world.a.member)
        response = client.post(
            "/api/v1/wallet/withdraw",
            {"amount": "3.00", "iban": VALID_IBAN},
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"w-{i}",
        )
        return response.status_code

    with ThreadPoolExecutor(WORKERS) as pool:
        codes = list(pool.map(withdraw, range(100)))
    assert codes.count(201) == 33 and codes.count(409) == 67, codes
    wallet = ledger.account_wallet(user=world.a.member)
    wallet.refresh_from_db()
    assert wallet.held == Decimal("99.00") and wallet.available == Decimal("1.00")

    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                _in_thread(lambda pk: services.payout_send(payout_id=pk)),
                Payout.objects.values_list("pk", flat=True),
            )
        )
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("1.00") and wallet.held == 0
    assert sum(Leg.objects.filter(account=wallet).values_list("amount", flat=True)) == wallet.balance
    assert Payout.objects.filter(status="paid").count() == 33
    assert ledger_verify().ok


def test_the_same_event_10_times_concurrently_and_out_of_order_posts_once(world):
    payment = services.payment_start(
        payment=services.payment_create(actor=world.a.member, amount=Decimal("42.00"))
    )
    obj = {"ref": payment.provider_ref, "amount": "42.00", "currency": "EUR"}
    success = json.dumps({"id": "devevt_same", "type": "payment.succeeded", "object": obj}).encode()
    failure = json.dumps({"id": "devevt_fail", "type": "payment.failed", "object": obj}).encode()
    bodies = [success] * 7 + [failure] * 3
    random.Random(7).shuffle(bodies)
    start = threading.Barrier(len(bodies))

    @_in_thread
    def deliver(body):
        start.wait()
        client = APIClient()
        headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in PROVIDERS["dev"].sign(body).items()}
        return client.post(
            "/api/v1/payment/callback", body, content_type="application/json", **headers
        ).status_code

    with ThreadPoolExecutor(len(bodies)) as pool:
        codes = list(pool.map(deliver, bodies))
    assert codes == [200] * 10
    assert Posting.objects.filter(kind="topup").count() == 1
    assert ProviderEvent.objects.count() == 2
    wallet = ledger.account_wallet(user=world.a.member)
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("42.00")
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    assert ledger_verify().ok


def test_concurrent_p2p_purchases_from_one_wallet_never_overdraw(world):
    fund(world.a.member, "50.00")
    sellers = [world.a.other_member, world.b.member, world.b.other_member]

    @_in_thread
    def buy(i):
        try:
            services.wallet_transfer(
                buyer=world.a.member,
                seller=sellers[i % 3],
                amount=Decimal("7.00"),
                idempotency_key=f"p2p-{i}",
            )
            return True
        except ledger.InsufficientFunds:
            return False

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(buy, range(30)))
    assert results.count(True) == 7
    wallet = ledger.account_wallet(user=world.a.member)
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("1.00")
    with connection.cursor() as cursor:
        cursor.execute("SELECT SUM(balance) FROM billing_account")
        assert cursor.fetchone()[0] == 0
    assert ledger_verify().ok
