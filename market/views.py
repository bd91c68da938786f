"""The market page of the portal: open offers with "take" forms, my offers with a
"publish" form, my allocations and my deliveries. Every action goes through
`market.services`; domain errors become messages."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from communities.models import Community, Direction, MeteringPoint, Regime
from core.exceptions import DomainError, Invalid
from market import selectors, services


def _local_datetime(value: str, community_id, field: str):
    """A datetime-local input, in the community's time zone."""
    if not value:
        return None
    moment = parse_datetime(value)
    if moment is None:
        raise Invalid(_("Not a date and time."), details={field: [_("Not a date and time.")]})
    if timezone.is_naive(moment):
        community = Community.objects.filter(pk=community_id).first()
        tz = ZoneInfo(community.time_zone if community else "UTC")
        moment = moment.replace(tzinfo=tz)
    return moment


def _act(request) -> str:
    action, post, user = request.POST.get("action"), request.POST, request.user
    if action == "publish":
        services.offer_create(
            actor=user,
            community_id=post.get("community"),
            metering_point_id=post.get("metering_point"),
            price_eur_per_kwh=post.get("price_eur_per_kwh"),
            valid_from=_local_datetime(post.get("valid_from", ""), post.get("community"), "valid_from"),
            valid_to=_local_datetime(post.get("valid_to", ""), post.get("community"), "valid_to"),
            cap_kwh=post.get("cap_kwh") or None,
            note=post.get("note", ""),
        )
        return _("Offer published.")
    if action == "withdraw":
        services.offer_withdraw(actor=user, offer_id=post.get("offer"))
        return _("Offer withdrawn.")
    if action == "take":
        services.allocation_create(
            actor=user,
            offer_id=post.get("offer"),
            metering_point_id=post.get("metering_point") or None,
            max_kwh=post.get("max_kwh") or None,
        )
        return _("Allocation taken: deliveries settle every interval.")
    if action == "cancel":
        services.allocation_cancel(actor=user, allocation_id=post.get("allocation"))
        return _("Allocation cancelled.")
    raise Invalid(_("Unknown action."))


def _int_or_none(value):
    return int(value) if str(value or "").isdigit() else None


@login_required
@require_http_methods(["GET", "POST"])
def market_page(request):
    if request.method == "POST":
        for key in ("offer", "allocation", "community", "metering_point"):
            if key in request.POST and request.POST[key] and _int_or_none(request.POST[key]) is None:
                messages.error(request, _("Invalid input."))
                return redirect("market:market")
        try:
            messages.success(request, _act(request))
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("market:market")
    user, now = request.user, timezone.now()
    communities = (
        Community.objects.visible_to(user)
        .filter(regime=Regime.P2P, memberships__user=user, memberships__left_at__isnull=True)
        .distinct()
    )
    points = MeteringPoint.objects.filter(
        membership__user=user, membership__left_at__isnull=True, membership__community__in=communities
    )
    context = {
        "communities": communities,
        "host_points": points.filter(direction__in=[Direction.INJECTION, Direction.BOTH]),
        "buyer_points": points.filter(direction__in=[Direction.WITHDRAWAL, Direction.BOTH]),
        "open_offers": selectors.offers_list(user=user, open_at=now).exclude(host=user)[:100],
        "my_offers": selectors.offers_list(user=user, mine=True)[:100],
        "my_allocations": selectors.allocations_list(user=user, role="buyer")[:100],
        "on_my_offers": selectors.allocations_list(user=user, role="host")[:100],
        "deliveries": selectors.deliveries_list(user=user)[:50],
        "taken": set(
            selectors.allocations_list(user=user, role="buyer")
            .exclude(status="cancelled")
            .values_list("offer_id", flat=True)
        ),
        "now": now,
    }
    return render(request, "market/market.html", context)
