"""Delivery settlement, worked by hand: meters -> ingest -> rollups -> `manage.py
market_settle` -> deliveries and ledger postings (DOMAIN.md, Peer-to-peer).

The demo p2p parameter set settles every 15 minutes; each example states the injection,
withdrawals, price and fee (BILLING_P2P_FEE_PCT = 1 %, half-up to the cent)."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import override_settings

from billing import ledger
from billing.models import Posting
from billing.tests.helpers import fund
from market.models import Allocation, Delivery, Offer, Suspension
from market.tests.conftest import D, allocation_make, offer_make

pytestmark = pytest.mark.django_db
Q = timedelta(minutes=15)


def settle(market, start=None, end=None) -> dict:
    from io import StringIO

    out = StringIO()
    call_command(
        "market_settle",
        community=market.community.slug,
        start=(start or market.t0).isoformat(),
        end=(end or market.t0 + timedelta(hours=1)).isoformat(),
        stdout=out,
    )
    return json.loads(out.getvalue())


def balance(user) -> Decimal:
    return ledger.account_wallet(user=user).balance


def test_it_settles_one_buyer_at_min_of_injection_and_withdrawal(market):
    # Host injects 4.0 kWh, the buyer withdraws 3.0: 3.0 kWh x 0.20 = 0.60 to the host,
    # fee 1 % of 0.60 = 0.006 -> 0.01; the buyer pays 0.61.
    fund(market.buyer, "10.00")
    offer = offer_make(market, price="0.20")
    allocation = allocation_make(market, offer, market.buyer)
    market.inject({market.t0: 4.0})
    market.withdraw(market.buyer_point, {market.t0: 3.0})
    summary = settle(market)
    assert summary["deliveries"] == 1 and summary["intervals"] == 4
    delivery = Delivery.objects.get()
    assert (delivery.allocation_id, delivery.interval_start, delivery.interval_end) == (
        allocation.pk,
        market.t0,
        market.t0 + Q,
    )
    assert (delivery.energy_kwh, delivery.amount_eur, delivery.fee_eur, delivery.total_eur) == (
        D("3"),
        D("0.60"),
        D("0.01"),
        D("0.61"),
    )
    assert delivery.inputs["host_injection_kwh"] == "4.000000"
    assert delivery.inputs["buyer_withdrawal_kwh"] == "3.000000"
    assert "0.200000 EUR/kWh" in delivery.rule
    assert balance(market.buyer) == D("9.39")
    assert balance(market.host) == D("0.60")
    from notifications.models import Notification  # no message per 15-minute delivery

    assert not Notification.objects.filter(data__movement__in=["p2p_purchase", "p2p_sale"]).exists()
    assert ledger.account_platform_fees().balance == D("0.01")
    offer.refresh_from_db()
    allocation.refresh_from_db()
    assert offer.delivered_kwh == allocation.delivered_kwh == D("3")


def test_host_injecting_less_than_demand_delivers_the_injection(market):
    # 1.0 kWh injected, 2.5 withdrawn: 1.0 kWh x 0.25 = 0.25, fee 0.0025 -> 0.00.
    fund(market.buyer, "10.00")
    allocation_make(market, offer_make(market, price="0.25"), market.buyer)
    market.inject({market.t0: 1.0})
    market.withdraw(market.buyer_point, {market.t0: 2.5})
    settle(market)
    delivery = Delivery.objects.get()
    assert (delivery.energy_kwh, delivery.amount_eur, delivery.fee_eur) == (D("1"), D("0.25"), D("0"))
    assert balance(market.buyer) == D("9.75") and balance(market.host) == D("0.25")


def test_two_buyers_share_the_injection_pro_rata_to_withdrawal(market):
    # 3.0 kWh injected; buyer 1 withdraws 3.0, buyer 2 withdraws 1.0 (demand 4.0 > 3.0):
    # buyer 1 gets 3 x 3/4 = 2.25 kWh (x 0.30 = 0.675 -> 0.68, fee 0.0068 -> 0.01),
    # buyer 2 gets 3 x 1/4 = 0.75 kWh (x 0.30 = 0.225 -> 0.23, fee 0.0023 -> 0.00).
    fund(market.buyer, "10.00")
    fund(market.buyer2, "10.00")
    offer = offer_make(market, price="0.30")
    first = allocation_make(market, offer, market.buyer)
    second = allocation_make(market, offer, market.buyer2)
    market.inject({market.t0: 3.0})
    market.withdraw(market.buyer_point, {market.t0: 3.0})
    market.withdraw(market.buyer2_point, {market.t0: 1.0})
    settle(market)
    got = {d.allocation_id: d for d in Delivery.objects.all()}
    assert (got[first.pk].energy_kwh, got[first.pk].amount_eur, got[first.pk].fee_eur) == (
        D("2.25"),
        D("0.68"),
        D("0.01"),
    )
    assert (got[second.pk].energy_kwh, got[second.pk].amount_eur, got[second.pk].fee_eur) == (
        D("0.75"),
        D("0.23"),
        D("0"),
    )
    assert got[first.pk].inputs["buyers_sharing"] == 2
    assert balance(market.host) == D("0.91")
    assert balance(market.buyer) == D("9.31") and balance(market.buyer2) == D("9.77")


def test_the_cap_is_never_exceeded(market):
    # Cap 5 kWh; 4 kWh injected and withdrawn in each of three intervals: 4, then 1, then 0.
    fund(market.buyer, "10.00")
    offer = offer_make(market, price="0.10", cap="5")
    allocation_make(market, offer, market.buyer)
    intervals = {market.t0: 4.0, market.t0 + Q: 4.0, market.t0 + 2 * Q: 4.0}
    market.inject(intervals)
    market.withdraw(market.buyer_point, intervals)
    settle(market)
    assert [d.energy_kwh for d in Delivery.objects.order_by("interval_start")] == [D("4"), D("1")]
    offer.refresh_from_db()
    assert offer.delivered_kwh == offer.cap_kwh == D("5")


def test_the_allocation_maximum_is_never_exceeded(market):
    fund(market.buyer, "10.00")
    allocation = allocation_make(market, offer_make(market, price="0.10"), market.buyer, max_kwh="2.5")
    intervals = {market.t0: 2.0, market.t0 + Q: 2.0}
    market.inject(intervals)
    market.withdraw(market.buyer_point, intervals)
    settle(market)
    allocation.refresh_from_db()
    assert allocation.delivered_kwh == D("2.5")


def test_a_rerun_posts_nothing_twice(market):
    fund(market.buyer, "10.00")
    allocation_make(market, offer_make(market), market.buyer)
    intervals = {market.t0 + i * Q: 1.0 + i for i in range(4)}
    market.inject(intervals)
    market.withdraw(market.buyer_point, intervals)
    first = settle(market)
    postings, wallet = Posting.objects.count(), balance(market.buyer)
    second = settle(market)
    assert first["deliveries"] == 4 and second["deliveries"] == 0
    assert Posting.objects.count() == postings and balance(market.buyer) == wallet
    assert Delivery.objects.count() == 4


def test_late_data_never_delivers_more_than_was_injected(market):
    # Buyer 2's meter data arrives after the first run: buyer 1 took 2.0 of the 3.0
    # injected; buyer 2 then gets only the 1.0 left, not a pro-rata share of 3.0.
    fund(market.buyer, "10.00")
    fund(market.buyer2, "10.00")
    offer = offer_make(market, price="0.20")
    allocation_make(market, offer, market.buyer)
    second = allocation_make(market, offer, market.buyer2)
    market.inject({market.t0: 3.0})
    market.withdraw(market.buyer_point, {market.t0: 2.0})
    settle(market)
    market.withdraw(market.buyer2_point, {market.t0: 2.0})
    settle(market)
    assert Delivery.objects.get(allocation=second).energy_kwh == D("1")
    assert sum(d.energy_kwh for d in Delivery.objects.all()) == D("3")


def test_a_buyer_without_funds_is_suspended_and_reported_never_negative(market, as_user):
    # The first interval costs 0.61 and the wallet holds 0.30: nothing is posted, the
    # allocation is suspended with its reason, later intervals are not delivered.
    fund(market.buyer, "0.30")
    allocation = allocation_make(market, offer_make(market, price="0.20"), market.buyer)
    intervals = {market.t0: 3.0, market.t0 + Q: 3.0}
    market.inject(intervals)
    market.withdraw(market.buyer_point, intervals)
    summary = settle(market)
    assert summary["suspended"] == [allocation.pk] and summary["deliveries"] == 0
    assert balance(market.buyer) == D("0.30") and balance(market.host) == 0
    allocation.refresh_from_db()
    assert allocation.status == "suspended" and allocation.ended_at == market.t0
    suspension = Suspension.objects.get(allocation=allocation)
    assert suspension.amount_due_eur == D("0.61") and "Insufficient funds" in suspension.reason
    assert suspension.reported_at is not None
    from notifications.models import Notification

    told = Notification.objects.filter(kind="wallet_movement", data__market="allocation_suspended")
    assert sorted(told.values_list("user_id", flat=True)) == sorted([market.buyer.pk, market.host.pk])
    assert "0.61" in told.get(user=market.buyer).body
    for user in (market.buyer, market.host):  # reported to both
        body = as_user(user).get(f"/api/v1/market/allocations/{allocation.pk}").json()
        assert body["status"] == "suspended" and body["suspension"]["amount_due_eur"] == "0.61"
    fund(market.buyer, "10.00")
    assert settle(market)["deliveries"] == 0  # suspended stays suspended


@override_settings(MARKET_SETTLE_DELAY_MINUTES=0, MARKET_SETTLE_LOOKBACK_HOURS=72)
def test_the_beat_task_settles_every_p2p_community(market):
    from config.beat import BEAT_TASKS
    from market.tasks import SETTLE_TASK, market_settle_task

    assert SETTLE_TASK in {entry["task"] for entry in BEAT_TASKS}

    fund(market.buyer, "10.00")
    allocation_make(market, offer_make(market), market.buyer)
    market.inject({market.t0: 1.0})
    market.withdraw(market.buyer_point, {market.t0: 1.0})
    out = market_settle_task.apply().get()
    assert out[market.community.slug]["deliveries"] == 1
    assert market_settle_task.apply().get()[market.community.slug]["deliveries"] == 0


def test_the_command_refuses_a_community_that_is_not_p2p(world):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not a p2p community"):
        call_command("market_settle", community=world.a.community.slug, start="2026-01-01", end="2026-01-02")
    assert not Offer.objects.exists() and not Allocation.objects.exists()


def test_nothing_is_delivered_outside_the_offers_validity_or_after_cancelling(market):
    # The offer ends at t0 + 30 min: of four intervals with energy only the first two settle.
    # A second buyer cancelled at t0 + 15 min (from then on): only the first interval.
    from django.utils import timezone

    fund(market.buyer, "10.00")
    fund(market.buyer2, "10.00")
    offer = offer_make(market, price="0.10")
    first = allocation_make(market, offer, market.buyer)
    second = allocation_make(market, offer, market.buyer2)
    Offer.objects.filter(pk=offer.pk).update(valid_to=market.t0 + 2 * Q)
    Allocation.objects.filter(pk=second.pk).update(status="cancelled", ended_at=market.t0 + Q)
    intervals = {market.t0 + i * Q: 4.0 for i in range(4)}
    market.inject(intervals)
    market.withdraw(market.buyer_point, dict.fromkeys(intervals, 1.0))
    market.withdraw(market.buyer2_point, dict.fromkeys(intervals, 1.0))
    settle(market)
    got = sorted((d.allocation_id, d.interval_start) for d in Delivery.objects.all())
    assert got == sorted([(first.pk, market.t0), (first.pk, market.t0 + Q), (second.pk, market.t0)])
    assert timezone.now() > market.t0  # the window is in the past: all four intervals were closed


def test_a_community_configured_hourly_settles_per_hour(market):
    # An operator's p2p parameter set with 60-minute intervals, in the community's active
    # configuration: one delivery per hour from the hourly rollups (2.0 + 1.0 kWh injected
    # in two quarters of the hour, 2.5 withdrawn -> 2.5 kWh x 0.20 = 0.50, fee 0.005 -> 0.01).
    from datetime import date

    from communities.models import Configuration, RegimeParameters

    params = RegimeParameters.objects.create(
        regime="p2p", version="test-hourly", valid_from=date(2020, 1, 1), params={"interval_minutes": 60}
    )
    Configuration.objects.create(
        community=market.community, name="Hourly", regime_parameters=params, valid_from=date(2020, 1, 1)
    )
    fund(market.buyer, "10.00")
    allocation_make(market, offer_make(market, price="0.20"), market.buyer)
    market.inject({market.t0: 2.0, market.t0 + Q: 1.0})
    market.withdraw(market.buyer_point, {market.t0 + 2 * Q: 2.5})
    summary = settle(market)
    assert summary["intervals"] == 1
    delivery = Delivery.objects.get()
    assert (delivery.interval_start, delivery.interval_end) == (market.t0, market.t0 + timedelta(hours=1))
    assert (delivery.energy_kwh, delivery.amount_eur, delivery.fee_eur) == (D("2.5"), D("0.50"), D("0.01"))
    assert delivery.inputs["interval_minutes"] == 60
