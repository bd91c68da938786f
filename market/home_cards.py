"""The member home's market card: open offers and live allocations (registered at startup
by `MarketConfig.ready`)."""

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.home_cards import card


@card("member", "market")
def market_card(request):
    from market.models import AllocationStatus, OfferStatus
    from market.selectors import allocations_list, offers_list

    user = request.user
    offers = offers_list(user=user, mine=True).filter(status=OfferStatus.OPEN).count()
    allocations = allocations_list(user=user, role="buyer").exclude(status=AllocationStatus.CANCELLED).count()
    if not offers and not allocations:
        return None
    return {
        "template": "portal/_card.html",
        "context": {
            "title": _("Energy market"),
            "value": allocations,
            "unit": ngettext("allocation", "allocations", allocations),
            "note": ngettext("%(n)s open offer of yours", "%(n)s open offers of yours", offers)
            % {"n": offers},
            "link": reverse("market:market"),
            "link_text": _("Open the market"),
        },
    }
