"""The pure rules of one market interval (no Django): who gets how much energy, and what it costs.

Energy is in whole micro-kWh (int) so that splits are exact; money in Decimal.

Rule (DOMAIN.md, Peer-to-peer; issue 10, p2p): in each interval an allocation receives at
most what its host's point injected and what its own point withdrew. Offers are served in
order (cheapest first, then oldest): each takes from its host point's injection what is
still unsold, capped by the offer's remaining cap, and shares it among its allocations:
everyone gets their demand (the buyer point's withdrawal still unserved, capped by the
allocation's remaining maximum) when the injection covers the total demand; otherwise
each gets the injection pro rata to demand, by largest remainder (ties to the older
allocation), so the shares add up exactly to the injection and nobody gets more than
their demand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

UNITS_PER_KWH = 1_000_000
CENT = Decimal("0.01")


@dataclass(frozen=True)
class AllocationSlot:
    allocation_id: int
    buyer_point: int
    max_left: int | None = None  # micro-kWh the allocation may still receive; None: no maximum


@dataclass(frozen=True)
class OfferSlot:
    offer_id: int
    host_point: int
    cap_left: int | None = None  # micro-kWh under the offer's cap; None: no cap
    allocations: tuple[AllocationSlot, ...] = field(default_factory=tuple)


def largest_remainder(total: int, weights: list[int]) -> list[int]:
    """Split the integer `total` pro rata to `weights`; the parts add up to `total` exactly.
    Ties on the remainder go to the earlier weight."""
    weight_sum = sum(weights)
    if weight_sum <= 0 or total <= 0:
        return [0] * len(weights)
    parts = [total * w // weight_sum for w in weights]
    left = total - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % weight_sum), i))
    for i in order[:left]:
        parts[i] += 1
    return parts


def interval_split(
    *, offers: list[OfferSlot], injection: dict[int, int], withdrawal: dict[int, int]
) -> dict[int, int]:
    """{allocation id: micro-kWh delivered} for one interval.

    `injection` / `withdrawal`: micro-kWh per metering point still available in this
    interval (already settled deliveries subtracted); a point missing from the dict has no
    data yet, and the offers or allocations on it get nothing (settled later). `offers`
    must already be in serving order. The dicts are not modified.
    """
    inj = dict(injection)
    wdr = dict(withdrawal)
    out: dict[int, int] = {}
    for offer in offers:
        if offer.host_point not in inj:
            continue
        available = max(0, inj[offer.host_point])
        if offer.cap_left is not None:
            available = min(available, max(0, offer.cap_left))
        slots = [a for a in offer.allocations if a.buyer_point in wdr]
        demands = []
        for slot in slots:
            demand = max(0, wdr[slot.buyer_point])
            if slot.max_left is not None:
                demand = min(demand, max(0, slot.max_left))
            demands.append(demand)
        shares = demands if sum(demands) <= available else largest_remainder(available, demands)
        for slot, share in zip(slots, shares, strict=True):
            if share <= 0:
                continue
            out[slot.allocation_id] = out.get(slot.allocation_id, 0) + share
            inj[offer.host_point] -= share
            wdr[slot.buyer_point] -= share
    return out


@dataclass(frozen=True)
class Money:
    amount_eur: Decimal  # to the host: energy x price, rounded once
    fee_eur: Decimal  # to the platform
    total_eur: Decimal  # paid by the buyer = amount + fee


def delivery_money(*, units: int, price_eur_per_kwh: Decimal, fee_pct: Decimal) -> Money:
    """Energy (micro-kWh) x price, rounded half-up to the cent once; the fee is `fee_pct`
    percent of that amount, rounded half-up to the cent (as `billing.services.p2p_fee`)."""
    amount = (Decimal(units) * price_eur_per_kwh / UNITS_PER_KWH).quantize(CENT, rounding=ROUND_HALF_UP)
    fee = (amount * fee_pct / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return Money(amount, fee, amount + fee)


def kwh_to_units(value) -> int:
    """kWh (float from the rollups, or Decimal) to whole micro-kWh, rounded half-up; a
    negative value (a meter's correction) counts as zero."""
    units = int((Decimal(str(value)) * UNITS_PER_KWH).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return max(0, units)


def units_to_kwh(units: int) -> Decimal:
    return (Decimal(units) / UNITS_PER_KWH).quantize(Decimal("0.000001"))
