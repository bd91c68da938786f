"""Largest-remainder splits of a Decimal total (DOMAIN.md, Rounding and money).

Each share is computed exactly from unrounded weights, floored to the cent; the cents left
over go one each to the largest remainders (ties: the earlier recipient), so the printed
amounts add up exactly to the total."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal, localcontext

CENT = Decimal("0.01")


def to_decimal(value) -> Decimal:
    """Exact Decimal of a float (its shortest repr), an int or a Decimal."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def largest_remainder(total: Decimal, weights: list) -> list[Decimal]:
    """Split `total` (a whole number of cents, >= 0) pro rata to `weights` (>= 0).

    All-zero weights give all zeros (the caller decides where that money goes)."""
    if total != total.quantize(CENT):
        raise ValueError("total must be a whole number of cents")
    if total < 0:
        raise ValueError("total must not be negative")
    ws = [to_decimal(w) for w in weights]
    if any(w < 0 for w in ws):
        raise ValueError("weights must not be negative")
    wsum = sum(ws, Decimal(0))
    if not ws or wsum == 0:
        return [Decimal("0.00")] * len(ws)
    with localcontext() as ctx:
        ctx.prec = 50
        exact = [total * w / wsum for w in ws]
        floors = [e.quantize(CENT, rounding=ROUND_FLOOR) for e in exact]
        left = int((total - sum(floors, Decimal(0))) / CENT)
        order = sorted(range(len(ws)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += CENT
    return floors
