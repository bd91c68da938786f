"""Reads of the pricing app: aligned zonal price series and the supply price at a time.

These are what settlement and the simulation call; the API builds on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, Q
from django.utils.translation import gettext

from communities.models import Community, Membership
from core.exceptions import Invalid, NotFound
from pricing.models import BandRule, MarketPrice, Tariff, TariffKind

EUR_PER_KWH = Decimal("0.000001")
EUR_PER_MWH = Decimal("0.000001")


@dataclass(frozen=True)
class ZonalPoint:
    start: datetime  # UTC
    price_eur_per_mwh: Decimal | None
    missing: bool


class SupplyPrice(NamedTuple):
    """(price, band, tariff id): unpacks as a tuple, reads by name."""

    price_eur_per_kwh: Decimal | None  # None: a dynamic tariff whose zonal price is unknown
    band: str | None  # None: a tariff without a band scheme
    tariff_id: int


def _floor(at: datetime, minutes: int) -> datetime:
    at = at.astimezone(UTC)
    return at.replace(minute=at.minute - at.minute % minutes, second=0, microsecond=0)


def zonal_prices(*, market_zone: str, start: datetime, end: datetime,
                 resolution_minutes: int = 60) -> list[ZonalPoint]:
    """The zonal price series `[start, end)` at `resolution_minutes` (15 or 60), one point per
    interval, `missing` where nothing is stored.

    Since October 2025 the Italian day-ahead market clears in quarter hours: an hour
    without an hourly price is the mean of its four quarter-hour prices (all four needed);
    a quarter hour without its own price takes its hour's price.
    """
    if resolution_minutes not in (15, 60):
        raise Invalid(gettext("resolution_minutes must be 15 or 60."),
                      details={"resolution_minutes": ["15 or 60"]})
    start, step = _floor(start, resolution_minutes), timedelta(minutes=resolution_minutes)
    hour_lo = _floor(start, 60)
    stored = MarketPrice.objects.filter(
        market_zone=market_zone, interval_start__gte=hour_lo, interval_start__lt=end,
    ).values_list("resolution_minutes", "interval_start", "price_eur_per_mwh")
    hourly, quarters = {}, {}
    for resolution, at, price in stored:
        (hourly if resolution == 60 else quarters)[at] = price
    points, t = [], start
    while t < end:
        price = _price_at(t, resolution_minutes, hourly, quarters)
        points.append(ZonalPoint(t, price, price is None))
        t += step
    return points


def _price_at(t, resolution, hourly, quarters) -> Decimal | None:
    if resolution == 60:
        if t in hourly:
            return hourly[t]
        parts = [quarters.get(t + timedelta(minutes=m)) for m in (0, 15, 30, 45)]
        if all(p is not None for p in parts):
            return (sum(parts) / 4).quantize(EUR_PER_MWH)
        return None
    if t in quarters:
        return quarters[t]
    return hourly.get(_floor(t, 60))


def tariff_at(*, community: Community, membership: Membership | None, day: date) -> Tariff | None:
    """The membership's own tariff valid on `day` (local date), else the community's."""
    valid = Q(valid_from__lte=day) & (Q(valid_to__isnull=True) | Q(valid_to__gt=day))
    qs = Tariff.objects.filter(valid, community=community).select_related("band_scheme").prefetch_related(
        "band_prices", Prefetch("band_scheme__rules", queryset=BandRule.objects.order_by("position", "id")))
    if membership is not None:
        own = qs.filter(membership=membership).first()
        if own is not None:
            return own
    return qs.filter(membership__isnull=True).first()


def tariff_price(tariff: Tariff, local: datetime, zonal_eur_per_mwh: Decimal | None) -> SupplyPrice:
    """Price of `tariff` at local time `local`; for a dynamic tariff, given the zonal price."""
    band = tariff.band_scheme.band_at(local) if tariff.band_scheme_id else None
    if tariff.kind == TariffKind.TIME_OF_USE:
        price = tariff.band_price(band)
    elif tariff.kind == TariffKind.FLAT:
        price = tariff.flat_eur_per_kwh
    elif zonal_eur_per_mwh is None:
        price = None
    else:
        price = (zonal_eur_per_mwh / 1000 * tariff.dynamic_multiplier + tariff.dynamic_spread_eur_per_kwh)
        price = price.quantize(EUR_PER_KWH)
    return SupplyPrice(price, band, tariff.pk)


def supply_price(*, membership: Membership | None = None, community: Community | None = None,
                 at: datetime) -> SupplyPrice:
    """The supply price (EUR/kWh), band and tariff id for a membership (its own tariff,
    else its community's) or a community, at the aware instant `at`.

    Bands are resolved on the community's local time. A dynamic tariff prices the hour's
    zonal price of the community's market zone (`price_eur_per_kwh` None when unknown).
    Raises NotFound when no tariff is valid then.
    """
    if (membership is None) == (community is None):
        raise TypeError("supply_price needs exactly one of membership or community")
    community = community or membership.community
    local = at.astimezone(ZoneInfo(community.time_zone))
    tariff = tariff_at(community=community, membership=membership, day=local.date())
    if tariff is None:
        raise NotFound(gettext("No supply tariff for %(community)s on %(date)s.")
                       % {"community": community, "date": local.date().isoformat()})
    zonal = None
    if tariff.kind == TariffKind.DYNAMIC:
        hour = _floor(at, 60)
        zonal = zonal_prices(market_zone=community.market_zone, start=hour,
                             end=hour + timedelta(hours=1))[0].price_eur_per_mwh
    return tariff_price(tariff, local, zonal)
