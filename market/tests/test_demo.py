"""The demo market: an offer, an allocation and settled deliveries; seeding twice changes nothing."""

import io

import pytest
from django.core.management import call_command

from billing.models import Posting
from market.models import Allocation, Delivery, Offer

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_settled_market_and_is_idempotent():
    call_command("seed_demo", stdout=io.StringIO())
    offer = Offer.objects.get(community__slug="mercato-san-lazzaro")
    allocation = Allocation.objects.get(offer=offer)
    deliveries = list(Delivery.objects.filter(allocation=allocation))
    assert len(deliveries) > 10 and all(d.posting_id for d in deliveries if d.amount_eur)
    counts = (
        Offer.objects.count(),
        Allocation.objects.count(),
        Delivery.objects.count(),
        Posting.objects.count(),
    )
    call_command("seed_demo", stdout=io.StringIO())
    assert (
        Offer.objects.count(),
        Allocation.objects.count(),
        Delivery.objects.count(),
        Posting.objects.count(),
    ) == counts
    for d in deliveries:
        inputs = d.inputs
        assert (
            d.energy_kwh
            <= min(float(inputs["host_injection_kwh"]), float(inputs["buyer_withdrawal_kwh"])) + 1e-9
        )
