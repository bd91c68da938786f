"""Delivery settlement: each interval's energy from host to buyer, paid through the ledger.

`deliveries_settle(*, community, start, end)` is what the beat task, `manage.py
market_settle` and the monthly settlement run (for p2p communities) call. It is
idempotent: a delivery is one row per (allocation, interval) and one ledger posting keyed
`market:<allocation id>:<interval start>`; re-running posts nothing twice, and an interval
whose meter data was missing is settled by a later run once the data is there. Energy
already settled in an interval is subtracted before the rest is split, so late data never
lets an interval deliver more than was injected or withdrawn (`market.split`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F

from billing.ledger import InsufficientFunds
from billing.services import wallet_transfer
from market import selectors
from market.models import Allocation, AllocationStatus, Delivery, Offer, Suspension
from market.split import (
    AllocationSlot,
    OfferSlot,
    delivery_money,
    interval_split,
    kwh_to_units,
    units_to_kwh,
)

logger = logging.getLogger("commonwatt.market")

LOCK_NAMESPACE = 4_700_210  # pg advisory lock (namespace, community id): one settler per community
RULE = (
    "p2p: energy = share of min(host injection, buyer withdrawal) per interval, pro rata to "
    "withdrawal among the offer's buyers, within cap; amount = energy x {price} EUR/kWh rounded "
    "to the cent; fee = {fee_pct} % of the amount (BILLING_P2P_FEE_PCT), paid by the buyer"
)


@dataclass
class SettleResult:
    intervals: int = 0
    deliveries: int = 0
    energy_kwh: Decimal = Decimal("0")
    amount_eur: Decimal = Decimal("0")
    fee_eur: Decimal = Decimal("0")
    suspended: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "intervals": self.intervals,
            "deliveries": self.deliveries,
            "energy_kwh": str(self.energy_kwh),
            "amount_eur": str(self.amount_eur),
            "fee_eur": str(self.fee_eur),
            "suspended": self.suspended,
        }


def _floor(when: datetime, minutes: int) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    step = timedelta(minutes=minutes)
    return epoch + ((when - epoch) // step) * step


def deliveries_settle(*, community, start: datetime, end: datetime) -> SettleResult:
    """Settle the market's deliveries of the intervals starting in [start, end).

    Intervals are the community's settlement interval (15 or 60 min, see
    `selectors.interval_minutes`), aligned on UTC. Call outside a transaction: each
    delivery commits on its own (its row, posting and running totals together), so a
    buyer's wallet is never locked for the whole run.
    """
    result = SettleResult()
    minutes = selectors.interval_minutes(community=community, at=start)
    start, end = _floor(start, minutes), _floor(end, minutes)
    if end <= start:
        return result
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_NAMESPACE, community.pk])
    try:
        _settle(community, start, end, minutes, result)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, community.pk])
    return result


def _settle(community, start, end, minutes, result: SettleResult) -> None:
    step = timedelta(minutes=minutes)
    offers = list(
        Offer.objects.filter(community=community, valid_from__lt=end, valid_to__gt=start).order_by(
            "price_eur_per_kwh", "created_at", "pk"
        )
    )
    allocations = list(
        Allocation.objects.filter(offer__in=offers, created_at__lt=end)
        .exclude(ended_at__lte=start)
        .order_by("created_at", "pk")
    )
    if not allocations:
        return
    by_offer: dict[int, list[Allocation]] = {}
    for allocation in allocations:
        by_offer.setdefault(allocation.offer_id, []).append(allocation)
    offers = [o for o in offers if o.pk in by_offer]
    points = {o.metering_point_id for o in offers} | {a.metering_point_id for a in allocations}
    energy: dict[datetime, dict[int, dict]] = {}  # interval start -> point -> {"import", "export"}
    for (point_id, bucket), values in selectors.interval_energy(
        point_ids=sorted(points), minutes=minutes, start=start, end=end
    ).items():
        energy.setdefault(bucket, {})[point_id] = values
    settled: dict[datetime, list[Delivery]] = {}
    for d in Delivery.objects.filter(
        community=community, interval_start__gte=start, interval_start__lt=end
    ).select_related("offer", "allocation"):
        settled.setdefault(d.interval_start, []).append(d)
    fee_pct = settings.BILLING_P2P_FEE_PCT
    stopped: set[int] = set()
    t = start
    while t < end:
        result.intervals += 1
        if t in energy:  # no meter data at all: nothing to settle yet
            _interval(t, t + step, offers, by_offer, energy[t], settled.get(t, []), stopped, fee_pct, result)
        t += step


def _interval(
    t0, t1, offers, by_offer, energy, done: list[Delivery], stopped: set[int], fee_pct, result
) -> None:
    injection = {}
    withdrawal = {}
    for point_id, values in energy.items():
        if values["export"] is not None:
            injection[point_id] = kwh_to_units(values["export"])
        if values["import"] is not None:
            withdrawal[point_id] = kwh_to_units(values["import"])
    measured_injection, measured_withdrawal = dict(injection), dict(withdrawal)
    done_ids = set()
    for d in done:
        units = kwh_to_units(d.energy_kwh)
        done_ids.add(d.allocation_id)
        for table, point in (
            (injection, d.offer.metering_point_id),
            (withdrawal, d.allocation.metering_point_id),
        ):
            if point in table:
                table[point] -= units
    slots, live = [], {}
    for offer in offers:
        if not (offer.valid_from <= t0 and offer.ends_at >= t1):
            continue
        alloc_slots = []
        for a in by_offer[offer.pk]:
            if a.pk in done_ids or a.pk in stopped or a.created_at > t0 or (a.ended_at and a.ended_at < t1):
                continue
            max_left = None if a.max_kwh is None else kwh_to_units(a.max_kwh - a.delivered_kwh)
            alloc_slots.append(AllocationSlot(a.pk, a.metering_point_id, max_left))
            live[a.pk] = (a, offer)
        if alloc_slots:
            cap_left = None if offer.cap_kwh is None else kwh_to_units(offer.cap_kwh - offer.delivered_kwh)
            slots.append(OfferSlot(offer.pk, offer.metering_point_id, cap_left, tuple(alloc_slots)))
    if not slots:
        return
    shares = interval_split(offers=slots, injection=injection, withdrawal=withdrawal)
    buyers_per_offer = {s.offer_id: len(s.allocations) for s in slots}
    for allocation_id in sorted(shares):
        allocation, offer = live[allocation_id]
        inputs = {
            "interval_minutes": int((t1 - t0).total_seconds() // 60),
            "host_injection_kwh": str(units_to_kwh(measured_injection.get(offer.metering_point_id, 0))),
            "buyer_withdrawal_kwh": str(
                units_to_kwh(measured_withdrawal.get(allocation.metering_point_id, 0))
            ),
            "buyers_sharing": buyers_per_offer[offer.pk],
            "offer_cap_left_kwh": None if offer.cap_kwh is None else str(offer.cap_kwh - offer.delivered_kwh),
        }
        delivery = _deliver(allocation, offer, t0, t1, shares[allocation_id], fee_pct, inputs)
        if not isinstance(delivery, Delivery):
            stopped.add(allocation_id)
            if delivery == SUSPENDED:
                result.suspended.append(allocation_id)
            continue
        result.deliveries += 1
        result.energy_kwh += delivery.energy_kwh
        result.amount_eur += delivery.amount_eur
        result.fee_eur += delivery.fee_eur
        offer.delivered_kwh += delivery.energy_kwh
        allocation.delivered_kwh += delivery.energy_kwh


SUSPENDED, ENDED = "suspended", "ended"


def _deliver(allocation: Allocation, offer: Offer, t0, t1, units: int, fee_pct, inputs) -> Delivery | str:
    """One delivery: its row, the posting and the running totals in one transaction.
    SUSPENDED when the buyer could not pay, ENDED when the allocation was cancelled meanwhile."""
    money = delivery_money(units=units, price_eur_per_kwh=offer.price_eur_per_kwh, fee_pct=fee_pct)
    energy_kwh = units_to_kwh(units)
    try:
        with transaction.atomic():
            locked = Allocation.objects.select_for_update().get(pk=allocation.pk)
            if locked.ended_at is not None and locked.ended_at < t1:
                return ENDED
            posting = None
            if money.amount_eur > 0:
                posting = wallet_transfer(
                    buyer=locked.buyer,
                    seller=offer.host,
                    amount=money.total_eur,
                    fee=money.fee_eur,
                    idempotency_key=f"market:{locked.pk}:{t0.isoformat()}",
                    reason=f"P2P energy {energy_kwh} kWh, offer #{offer.pk}, {t0:%Y-%m-%d %H:%M} UTC",
                    community=offer.community,
                    notify=False,  # one notification per interval would be noise; the wallet lists them
                )
            delivery = Delivery.objects.create(
                allocation=locked,
                offer=offer,
                community_id=offer.community_id,
                host_id=offer.host_id,
                buyer_id=locked.buyer_id,
                interval_start=t0,
                interval_end=t1,
                energy_kwh=energy_kwh,
                price_eur_per_kwh=offer.price_eur_per_kwh,
                amount_eur=money.amount_eur,
                fee_eur=money.fee_eur,
                fee_pct=fee_pct,
                rule=RULE.format(price=offer.price_eur_per_kwh, fee_pct=fee_pct)[:300],
                inputs=inputs,
                posting=posting,
            )
            Allocation.objects.filter(pk=locked.pk).update(delivered_kwh=F("delivered_kwh") + energy_kwh)
            Offer.objects.filter(pk=offer.pk).update(delivered_kwh=F("delivered_kwh") + energy_kwh)
            return delivery
    except InsufficientFunds:
        _suspend(allocation, t0, energy_kwh, money.total_eur)
        return SUSPENDED


def _suspend(allocation: Allocation, t0, energy_kwh: Decimal, amount_due: Decimal) -> None:
    from market.notify import suspension_report

    with transaction.atomic():
        locked = Allocation.objects.select_for_update().get(pk=allocation.pk)
        if locked.status != AllocationStatus.ACTIVE:
            return
        locked.status = AllocationStatus.SUSPENDED
        locked.ended_at = t0
        locked.save(update_fields=["status", "ended_at"])
        suspension = Suspension.objects.create(
            allocation=locked,
            interval_start=t0,
            energy_kwh=energy_kwh,
            amount_due_eur=amount_due,
            reason=f"Insufficient funds: {amount_due} EUR due for {energy_kwh} kWh ({t0:%Y-%m-%d %H:%M} UTC)",
        )
        suspension_report(suspension)
    logger.info("market: allocation %s suspended at %s (insufficient funds)", allocation.pk, t0)


def market_settle_recent(*, now: datetime | None = None) -> dict:
    """The beat task's work: every active p2p community, the intervals that closed at least
    MARKET_SETTLE_DELAY_MINUTES ago, back MARKET_SETTLE_LOOKBACK_HOURS."""
    from django.utils import timezone

    from communities.models import Community, CommunityStatus, Regime

    now = now or timezone.now()
    end = now - timedelta(minutes=settings.MARKET_SETTLE_DELAY_MINUTES)
    start = end - timedelta(hours=settings.MARKET_SETTLE_LOOKBACK_HOURS)
    out = {}
    for community in Community.objects.filter(regime=Regime.P2P, status=CommunityStatus.ACTIVE).order_by(
        "pk"
    ):
        out[community.slug] = deliveries_settle(community=community, start=start, end=end).as_dict()
    return out
