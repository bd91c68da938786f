"""Market actions: publish and withdraw offers, take and cancel allocations.

Settlement of deliveries is in `market.settlement` (`deliveries_settle`). Every interface
(API, portal, admin) calls these functions; they raise domain errors (core.exceptions).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from communities.models import Community, Direction, Membership, MeteringPoint, Regime
from core.exceptions import Conflict, Forbidden, Invalid
from core.scoping import get_manageable, get_visible
from market.models import Allocation, AllocationStatus, Offer, OfferStatus

MAX_DECIMALS = 6


def _bad(field: str, message: str) -> Invalid:
    return Invalid(f"{field}: {message}", details={field: [message]})


def decimal_parse(value, *, field: str, maximum: Decimal, required: bool = True) -> Decimal | None:
    """A positive Decimal with at most 6 decimals, at most `maximum`; else `Invalid`."""
    if value in (None, "") and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise _bad(field, _("A number is required, e.g. 0.12."))
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise _bad(field, _("A number is required, e.g. 0.12.")) from None
    if not number.is_finite():
        raise _bad(field, _("A finite number is required."))
    if number <= 0:
        raise _bad(field, _("Must be greater than zero."))
    if number > maximum:
        raise _bad(field, _("Must be at most %(max)s.") % {"max": maximum})
    if number != number.quantize(Decimal(1).scaleb(-MAX_DECIMALS)):
        raise _bad(field, _("At most 6 decimal places."))
    return number


def _membership(*, user, community) -> Membership | None:
    return Membership.objects.filter(user=user, community=community, left_at__isnull=True).first()


def _market_community(*, actor, community_id) -> Community:
    community = get_visible(Community.objects, actor, pk=community_id)
    if community.regime != Regime.P2P:
        raise _bad("community", _("This community does not run the peer-to-peer market."))
    return community


def _own_point(*, user, community, point_id, directions, field: str) -> MeteringPoint:
    point = (
        MeteringPoint.objects.filter(
            pk=point_id,
            membership__user=user,
            membership__community=community,
            membership__left_at__isnull=True,
        ).first()
        if point_id not in (None, "")
        else None
    )
    if point is None:
        raise _bad(field, _("Not one of your metering points in this community."))
    if point.direction not in directions:
        raise _bad(field, _("This metering point does not have the right direction."))
    return point


@transaction.atomic
def offer_create(
    *,
    actor,
    community_id,
    metering_point_id,
    price_eur_per_kwh,
    valid_from: datetime | None,
    valid_to: datetime,
    cap_kwh=None,
    note: str = "",
) -> Offer:
    """Publish an offer of the energy injected at the host's point (DOMAIN.md, Peer-to-peer).

    The host is a current member of a `p2p` community; the point is theirs and injects;
    the window ends in the future and lasts at most MARKET_OFFER_MAX_DAYS."""
    community = _market_community(actor=actor, community_id=community_id)
    if _membership(user=actor, community=community) is None:
        raise Forbidden(_("Only members of the community publish offers."))
    point = _own_point(
        user=actor,
        community=community,
        point_id=metering_point_id,
        directions=(Direction.INJECTION, Direction.BOTH),
        field="metering_point",
    )
    price = decimal_parse(
        price_eur_per_kwh, field="price_eur_per_kwh", maximum=settings.MARKET_MAX_PRICE_EUR_PER_KWH
    )
    cap = decimal_parse(cap_kwh, field="cap_kwh", maximum=Decimal("1000000000"), required=False)
    now = timezone.now()
    valid_from = valid_from or now
    if valid_to is None or valid_to <= valid_from:
        raise _bad("valid_to", _("Must be after the start of the validity."))
    if valid_to <= now:
        raise _bad("valid_to", _("Must be in the future."))
    if valid_to - valid_from > timedelta(days=settings.MARKET_OFFER_MAX_DAYS):
        raise _bad(
            "valid_to", _("An offer lasts at most %(days)s days.") % {"days": settings.MARKET_OFFER_MAX_DAYS}
        )
    return Offer.objects.create(
        community=community,
        host=actor,
        metering_point=point,
        price_eur_per_kwh=price,
        valid_from=valid_from,
        valid_to=valid_to,
        cap_kwh=cap,
        note=(note or "")[:200],
    )


@transaction.atomic
def offer_withdraw(*, actor, offer_id) -> Offer:
    """Withdraw an offer from now on: intervals before now still settle. Idempotent."""
    offer = get_manageable(Offer.objects, actor, pk=offer_id, message=_("This is not your offer."))
    offer = Offer.objects.select_for_update().get(pk=offer.pk)
    if offer.status == OfferStatus.WITHDRAWN:
        return offer
    offer.status = OfferStatus.WITHDRAWN
    offer.withdrawn_at = timezone.now()
    offer.save(update_fields=["status", "withdrawn_at"])
    return offer


@transaction.atomic
def allocation_create(*, actor, offer_id, metering_point_id=None, max_kwh=None) -> Allocation:
    """Take an allocation on an open offer, delivered to the buyer's withdrawal point.

    `NotFound` for an offer outside the buyer's communities; `Invalid` for one's own offer
    or a point that is not the buyer's; `Conflict` for an offer not open now (withdrawn,
    outside its validity, cap reached) or a second live allocation on it."""
    offer = get_visible(Offer.objects, actor, pk=offer_id)
    if _membership(user=actor, community=offer.community) is None:
        raise Forbidden(_("Only members of the community take offers."))
    if offer.host_id == actor.pk:
        raise _bad("offer", _("You cannot buy your own energy."))
    max_kwh = decimal_parse(max_kwh, field="max_kwh", maximum=Decimal("1000000000"), required=False)
    directions = (Direction.WITHDRAWAL, Direction.BOTH)
    if metering_point_id in (None, ""):
        point = (
            MeteringPoint.objects.filter(
                membership__user=actor,
                membership__community=offer.community,
                membership__left_at__isnull=True,
                direction__in=directions,
            )
            .order_by("pk")
            .first()
        )
        if point is None:
            raise _bad("metering_point", _("You have no withdrawal point in this community."))
    else:
        point = _own_point(
            user=actor,
            community=offer.community,
            point_id=metering_point_id,
            directions=directions,
            field="metering_point",
        )
    offer = Offer.objects.select_for_update().get(pk=offer.pk)
    if not offer.is_open_at(timezone.now()):
        raise Conflict(
            _("This offer is not open now (withdrawn, outside its validity or sold out)."),
            error="OfferNotOpen",
        )
    try:
        with transaction.atomic():
            return Allocation.objects.create(offer=offer, buyer=actor, metering_point=point, max_kwh=max_kwh)
    except IntegrityError:
        raise Conflict(_("You already have an allocation on this offer."), error="AlreadyAllocated") from None


@transaction.atomic
def allocation_cancel(*, actor, allocation_id) -> Allocation:
    """Cancel from now on (intervals before now still settle). Idempotent."""
    allocation = get_manageable(
        Allocation.objects, actor, pk=allocation_id, message=_("This is not your allocation.")
    )
    allocation = Allocation.objects.select_for_update().get(pk=allocation.pk)
    if allocation.status == AllocationStatus.CANCELLED:
        return allocation
    allocation.status = AllocationStatus.CANCELLED
    if allocation.ended_at is None:
        allocation.ended_at = timezone.now()
    allocation.save(update_fields=["status", "ended_at"])
    return allocation


# The settlement entry point other apps call (the monthly run for p2p communities).
from market.settlement import deliveries_settle  # noqa: E402

__all__ = ["allocation_cancel", "allocation_create", "deliveries_settle", "offer_create", "offer_withdraw"]
