"""The market page (host and buyer), the home card, and the scoped read-only back office."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.tests.helpers import fund
from market.models import Allocation, Offer
from market.settlement import deliveries_settle
from market.tests.conftest import allocation_make, offer_make

pytestmark = pytest.mark.django_db


def test_the_host_publishes_and_withdraws_on_the_market_page(market, client):
    client.force_login(market.host)
    page = client.get("/market/")
    assert page.status_code == 200 and b'name="price_eur_per_kwh"' in page.content
    until = (timezone.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        "/market/",
        {
            "action": "publish",
            "community": market.community.pk,
            "metering_point": market.host_point.pk,
            "price_eur_per_kwh": "0.18",
            "valid_to": until,
            "cap_kwh": "20",
        },
    )
    assert response.status_code == 302
    offer = Offer.objects.get()
    assert (offer.price_eur_per_kwh, offer.cap_kwh, offer.host) == (
        Decimal("0.18"),
        Decimal("20"),
        market.host,
    )
    page = client.get("/market/")
    assert f'data-my-offer="{offer.pk}"'.encode() in page.content
    client.post(
        "/market/",
        {
            "action": "publish",
            "community": market.community.pk,
            "metering_point": market.host_point.pk,
            "price_eur_per_kwh": "-1",
            "valid_to": until,
        },
    )
    assert Offer.objects.count() == 1
    assert b"Must be greater than zero." in client.get("/market/").content
    client.post("/market/", {"action": "withdraw", "offer": offer.pk})
    offer.refresh_from_db()
    assert offer.status == "withdrawn"


def test_the_buyer_takes_cancels_and_sees_deliveries(market, client):
    offer = offer_make(market, price="0.20")
    client.force_login(market.buyer)
    page = client.get("/market/")
    assert page.status_code == 200 and f'data-offer="{offer.pk}"'.encode() in page.content
    client.post("/market/", {"action": "take", "offer": offer.pk, "max_kwh": "30"})
    allocation = Allocation.objects.get()
    assert (allocation.buyer, allocation.max_kwh) == (market.buyer, 30)
    Allocation.objects.filter(pk=allocation.pk).update(created_at=market.t0 - timedelta(days=1))
    fund(market.buyer, "5.00")
    market.inject({market.t0: 1.5})
    market.withdraw(market.buyer_point, {market.t0: 1.5})
    deliveries_settle(community=market.community, start=market.t0, end=market.t0 + timedelta(hours=1))
    page = client.get("/market/").content.decode()
    assert f'data-allocation="{allocation.pk}"' in page and "1.500000" in page and "0.30" in page
    home = client.get("/")
    assert b'data-card="market"' in home.content
    client.post("/market/", {"action": "cancel", "allocation": allocation.pk})
    allocation.refresh_from_db()
    assert allocation.status == "cancelled"


def test_the_page_refuses_other_peoples_objects(market, world, client):
    offer = offer_make(market)
    allocation = allocation_make(market, offer, market.buyer)
    client.force_login(world.b.member)
    client.post("/market/", {"action": "take", "offer": offer.pk})
    client.post("/market/", {"action": "withdraw", "offer": offer.pk})
    client.post("/market/", {"action": "cancel", "allocation": allocation.pk})
    page = client.get("/market/")
    assert f'data-offer="{offer.pk}"'.encode() not in page.content
    offer.refresh_from_db()
    allocation.refresh_from_db()
    assert offer.status == "open" and allocation.status == "active" and Allocation.objects.count() == 1
    client.force_login(market.buyer2)
    client.post("/market/", {"action": "cancel", "allocation": allocation.pk})
    allocation.refresh_from_db()
    assert allocation.status == "active"


def test_the_page_is_in_italian_and_has_no_inline_script(market, client):
    client.force_login(market.host)
    page = client.get("/market/", HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert "Mercato dell'energia" in page or "Mercato dell&#x27;energia" in page
    assert "<script>" not in page and " onclick=" not in page


def test_the_back_office_is_scoped_and_read_only(market, world, client):
    offer = offer_make(market)
    allocation_make(market, offer, market.buyer)
    other = offer_make_b(world)
    client.force_login(world.a.referent)
    listing = client.get("/admin/market/offer/")
    assert listing.status_code == 200
    assert f"/admin/market/offer/{offer.pk}/change/".encode() in listing.content
    assert f"/admin/market/offer/{other.pk}/change/".encode() not in listing.content
    assert client.get(f"/admin/market/offer/{other.pk}/change/").status_code in (302, 404)
    assert client.get("/admin/market/offer/add/").status_code == 403
    assert client.get("/admin/market/allocation/").status_code == 200
    assert client.get("/admin/market/delivery/").status_code == 200
    client.force_login(world.admin)
    client.post("/admin/market/offer/", {"action": "withdraw_offers", "_selected_action": [offer.pk]})
    offer.refresh_from_db()
    assert offer.status == "withdrawn"


def offer_make_b(world):
    from communities.models import MeteringPoint

    point = MeteringPoint.objects.create(
        code="IT001E80000099", membership=world.b.membership, direction="both"
    )
    return Offer.objects.create(
        community=world.b.community,
        host=world.b.member,
        metering_point=point,
        price_eur_per_kwh="0.1",
        valid_from=timezone.now(),
        valid_to=timezone.now() + timedelta(days=1),
    )
