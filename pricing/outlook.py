"""What the pricing API answers: the caller's supply price and zonal price, now and for
the next hours. Scoped: a community outside `visible_to(user)` is NotFound."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext

from communities.models import Community, Membership
from core.exceptions import Invalid
from core.scoping import get_visible
from pricing.forecast import DAY_AHEAD, UNAVAILABLE, zonal_outlook
from pricing.models import Tariff, TariffKind, library_holidays
from pricing.selectors import tariff_at, tariff_price

COUNTRY_OF_ZONE = {"FR": "FR", "AT": "AT"}  # the others are Italian zones


def caller_scope(*, user, community_id: int | None) -> tuple[Community, Membership | None]:
    """The community asked for (if visible) or the caller's only current one, and the
    caller's current membership in it (None for staff who are not members)."""
    if community_id is not None:
        community = get_visible(Community.objects, user, pk=community_id)
    else:
        ids = list(Membership.objects.filter(user=user, left_at__isnull=True)
                   .values_list("community_id", flat=True)[:2])
        if len(ids) != 1:
            why = "you are not a member of a community" if not ids else "you are in several communities"
            raise Invalid(gettext("Pass ?community=<id>: %(why)s.") % {"why": why},
                          details={"community": [f"required: {why}"]})
        community = Community.objects.get(pk=ids[0])
    membership = Membership.objects.filter(user=user, community=community, left_at__isnull=True).first()
    return community, membership


def _holiday_checker(community: Community, tariff: Tariff | None):
    if tariff is not None and tariff.band_scheme_id:
        return tariff.band_scheme.is_holiday
    country = COUNTRY_OF_ZONE.get(community.market_zone, "IT")
    return lambda day: day in library_holidays(country, day.year)


def _tariff_info(tariff: Tariff | None) -> dict | None:
    if tariff is None:
        return None
    return {"id": tariff.pk, "name": tariff.name, "kind": tariff.kind,
            "personal": tariff.membership_id is not None}


def _community_info(community: Community) -> dict:
    return {"id": community.pk, "name": community.name, "market_zone": community.market_zone,
            "time_zone": community.time_zone}


def _hours(*, community, membership, start: datetime, hours: int) -> tuple[list[dict], Tariff | None]:
    tz = ZoneInfo(community.time_zone)
    tariffs: dict[date, Tariff | None] = {}

    def tariff_on(day):
        if day not in tariffs:
            tariffs[day] = tariff_at(community=community, membership=membership, day=day)
        return tariffs[day]

    first = tariff_on(start.astimezone(tz).date())
    outlook = zonal_outlook(market_zone=community.market_zone, time_zone=community.time_zone,
                            is_holiday=_holiday_checker(community, first), start=start, hours=hours)
    out = []
    for at, zonal, source in outlook:
        local = at.astimezone(tz)
        tariff = tariff_on(local.date())
        supply = tariff_price(tariff, local, zonal) if tariff else None
        out.append({
            "start": at, "band": supply.band if supply else None,
            "supply_eur_per_kwh": supply.price_eur_per_kwh if supply else None,
            "tariff_id": tariff.pk if tariff else None,
            "zonal_eur_per_mwh": zonal, "zonal_source": source,
            "supply_estimated": bool(tariff and tariff.kind == TariffKind.DYNAMIC and source != DAY_AHEAD
                                     and zonal is not None),
        })
    return out, first


def pricing_current(*, user, community_id: int | None = None, at: datetime | None = None) -> dict:
    community, membership = caller_scope(user=user, community_id=community_id)
    at = at or timezone.now()
    hour = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    [point], tariff = _hours(community=community, membership=membership, start=hour, hours=1)
    return {"community": _community_info(community), "at": at, "tariff": _tariff_info(tariff),
            **{k: point[k] for k in ("band", "supply_eur_per_kwh", "zonal_eur_per_mwh")},
            "zonal_source": point["zonal_source"] if point["zonal_source"] != UNAVAILABLE else None,
            "zonal_interval_start": hour}


def pricing_forecast(*, user, community_id: int | None = None, hours: int = 24,
                     now: datetime | None = None) -> dict:
    community, membership = caller_scope(user=user, community_id=community_id)
    now = now or timezone.now()
    start = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    points, tariff = _hours(community=community, membership=membership, start=start, hours=hours)
    return {"community": _community_info(community), "tariff": _tariff_info(tariff),
            "method": "see README, Prices and tariffs: forecast", "hours": points}


