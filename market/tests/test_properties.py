"""Hypothesis properties of the market.

1. The pure interval rule (`market.split`), MARKET_PROPERTY_EXAMPLES cases (default 5,000,
   ~2 s): per interval and metering point, delivered <= injected and <= withdrawn; each
   allocation <= its demand and maximum, each offer <= its cap; the split is exhaustive
   (either the injection or the demand is used up); deterministic; money conserved (buyer
   pays = host receives + fee, amount = energy x price rounded once).
2. Through `deliveries_settle` against the real database (rollup rows as input, each example
   in a savepoint rolled back), MARKET_DB_PROPERTY_EXAMPLES cases (default 60): wallets never
   negative, the ledger's buyer debits equal host credits + fees, delivered energy within the
   interval's injection and withdrawal, and a re-run posts nothing.
"""

import os
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing import ledger
from billing.models import Leg, Posting
from billing.tests.helpers import fund
from market.models import Allocation, Delivery
from market.split import (
    AllocationSlot,
    OfferSlot,
    delivery_money,
    interval_split,
    largest_remainder,
)
from market.tests.conftest import allocation_make, offer_make

EXAMPLES = int(os.environ.get("MARKET_PROPERTY_EXAMPLES", "5000"))
DB_EXAMPLES = int(os.environ.get("MARKET_DB_PROPERTY_EXAMPLES", "60"))

units = st.integers(min_value=0, max_value=20_000_000)
maybe_units = st.none() | st.integers(min_value=0, max_value=20_000_000)


@st.composite
def markets(draw):
    hosts = draw(st.integers(1, 3))
    buyers = draw(st.integers(1, 4))
    injection = {h: draw(units) for h in range(hosts) if draw(st.integers(0, 9))}  # some points lack data
    withdrawal = {100 + b: draw(units) for b in range(buyers) if draw(st.integers(0, 9))}
    offers, next_id = [], 1
    for offer_id in range(draw(st.integers(1, 4))):
        taken = draw(st.lists(st.integers(0, buyers - 1), unique=True, max_size=buyers))
        slots = []
        for b in taken:
            slots.append(AllocationSlot(next_id, 100 + b, draw(maybe_units)))
            next_id += 1
        offers.append(OfferSlot(offer_id, draw(st.integers(0, hosts - 1)), draw(maybe_units), tuple(slots)))
    return offers, injection, withdrawal


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(markets())
def test_the_split_never_delivers_more_than_injected_withdrawn_or_allowed(case):
    offers, injection, withdrawal = case
    shares = interval_split(offers=offers, injection=injection, withdrawal=withdrawal)
    assert shares == interval_split(
        offers=offers, injection=injection, withdrawal=withdrawal
    )  # deterministic
    assert all(v > 0 for v in shares.values())
    by_host, by_buyer = {}, {}
    for offer in offers:
        offer_total = 0
        for slot in offer.allocations:
            got = shares.get(slot.allocation_id, 0)
            if slot.max_left is not None:
                assert got <= slot.max_left
            offer_total += got
            by_host[offer.host_point] = by_host.get(offer.host_point, 0) + got
            by_buyer[slot.buyer_point] = by_buyer.get(slot.buyer_point, 0) + got
        if offer.cap_left is not None:
            assert offer_total <= offer.cap_left
    for point, total in by_host.items():
        assert total <= injection.get(point, 0)
    for point, total in by_buyer.items():
        assert total <= withdrawal.get(point, 0)


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(st.integers(0, 10**9), st.lists(st.integers(0, 10**7), min_size=1, max_size=6))
def test_largest_remainder_is_exact_and_never_exceeds_a_demand(total, weights):
    parts = largest_remainder(total, weights)
    if sum(weights) == 0:
        assert parts == [0] * len(weights)
        return
    assert sum(parts) == total
    if total <= sum(weights):
        assert all(p <= w for p, w in zip(parts, weights, strict=True))


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(
    units,
    st.integers(1, 2_000_000).map(lambda p: Decimal(p) / 1_000_000),
    st.integers(0, 2000).map(lambda p: Decimal(p) / 100),
)
def test_money_is_conserved_and_rounded_once(energy_units, price, fee_pct):
    money = delivery_money(units=energy_units, price_eur_per_kwh=price, fee_pct=fee_pct)
    assert money.total_eur == money.amount_eur + money.fee_eur  # buyer pays = host + platform
    exact = Decimal(energy_units) * price / 1_000_000
    assert abs(money.amount_eur - exact) <= Decimal("0.005")
    assert money.amount_eur == money.amount_eur.quantize(Decimal("0.01")) >= 0
    assert money.fee_eur == money.fee_eur.quantize(Decimal("0.01")) >= 0


def test_the_fee_is_billings_p2p_fee():
    from django.conf import settings as django_settings

    from billing.services import p2p_fee

    for cents in (1, 49, 50, 51, 149, 150, 999, 123456):
        amount = Decimal(cents) / 100
        money = delivery_money(
            units=int(amount * 1_000_000),
            price_eur_per_kwh=Decimal(1),
            fee_pct=django_settings.BILLING_P2P_FEE_PCT,
        )
        assert money.fee_eur == p2p_fee(amount)


class Rollback(Exception):
    pass


def _rollup(device_id: int, metric_code: str, bucket, kwh: float) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO iot_rollup_15m (device_id, metric_id, bucket, n, min_value, max_value, sum_value,"
            " first_value, last_value, first_ts, last_ts, delta)"
            " SELECT %s, m.id, %s, 2, 0, %s, %s, 0, %s, %s, %s, %s FROM iot_metric m WHERE m.code = %s",
            [device_id, bucket, kwh, kwh, kwh, bucket, bucket, kwh, metric_code],
        )


kwh = st.integers(0, 5000).map(lambda w: w / 1000)


@pytest.mark.django_db
@pytest.mark.timeout(1800)
def test_settlement_keeps_wallets_and_energy_within_bounds(market):
    from market.settlement import deliveries_settle

    q = timedelta(minutes=15)
    fund(market.host, "0.01")  # every wallet exists; ids stable across examples
    for user in (market.buyer, market.buyer2):
        ledger.account_wallet(user=user)
    fees = ledger.account_platform_fees()

    @settings(max_examples=DB_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(
        price=st.integers(1, 500_000).map(lambda p: Decimal(p) / 1_000_000),
        cap=st.none() | st.integers(1, 10_000).map(lambda c: Decimal(c) / 1000),
        funds=st.tuples(st.integers(0, 300), st.integers(0, 300)),
        intervals=st.lists(st.tuples(kwh, kwh, kwh), min_size=1, max_size=4),
    )
    def example(price, cap, funds, intervals):
        try:
            with transaction.atomic():
                for user, cents in zip((market.buyer, market.buyer2), funds, strict=True):
                    if cents:
                        fund(user, Decimal(cents) / 100)
                offer = offer_make(market, price=str(price), cap=None if cap is None else str(cap))
                for buyer in (market.buyer, market.buyer2):
                    allocation_make(market, offer, buyer)
                points = (market.host_point, market.buyer_point, market.buyer2_point)
                metrics = ("energy_export_kwh", "energy_import_kwh", "energy_import_kwh")
                for i, values in enumerate(intervals):
                    for point, metric, value in zip(points, metrics, values, strict=True):
                        _rollup(market.meters[point.pk].pk, metric, market.t0 + i * q, value)
                before = {
                    u.pk: ledger.account_wallet(user=u).balance
                    for u in (market.buyer, market.buyer2, market.host)
                }
                fees_before = ledger.account_platform_fees().balance
                deliveries_settle(community=market.community, start=market.t0, end=market.t0 + 4 * q)
                postings = Posting.objects.count()
                deliveries_settle(community=market.community, start=market.t0, end=market.t0 + 4 * q)
                assert Posting.objects.count() == postings  # a re-run posts nothing
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                after = {
                    pk: ledger.account_wallet(user=u).balance
                    for pk, u in ((u.pk, u) for u in (market.buyer, market.buyer2, market.host))
                }
                assert all(b >= 0 for b in after.values())
                paid = sum(before[u.pk] - after[u.pk] for u in (market.buyer, market.buyer2))
                received = after[market.host.pk] - before[market.host.pk]
                fee = ledger.account_platform_fees().balance - fees_before
                deliveries = list(Delivery.objects.filter(offer=offer))
                assert paid == received + fee
                assert received == sum(d.amount_eur for d in deliveries)
                assert fee == sum(d.fee_eur for d in deliveries)
                for i, (injected, w1, w2) in enumerate(intervals):
                    at = [d for d in deliveries if d.interval_start == market.t0 + i * q]
                    assert sum(d.energy_kwh for d in at) <= Decimal(str(injected))
                    for buyer, withdrawn in ((market.buyer, w1), (market.buyer2, w2)):
                        assert sum(d.energy_kwh for d in at if d.buyer_id == buyer.pk) <= Decimal(
                            str(withdrawn)
                        )
                if cap is not None:
                    assert sum(d.energy_kwh for d in deliveries) <= cap
                for allocation in Allocation.objects.filter(offer=offer, status="suspended"):
                    assert allocation.suspension.amount_due_eur > 0
                assert not Leg.objects.filter(account=fees, amount__lt=0).exists()
                raise Rollback()
        except Rollback:
            pass

    example()
