"""The market API: offers, allocations, deliveries; scoping (other community 404, not
yours 403) and input rules (400 with a machine-readable error, nothing changed)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from market.models import Allocation, Offer
from market.tests.conftest import allocation_make, offer_make

pytestmark = pytest.mark.django_db

OFFERS = "/api/v1/market/offers"
ALLOCATIONS = "/api/v1/market/allocations"


def offer_body(market, **extra):
    return {
        "community": market.community.pk,
        "metering_point": market.host_point.pk,
        "price_eur_per_kwh": "0.15",
        "valid_to": (timezone.now() + timedelta(days=2)).isoformat(),
        **extra,
    }


def test_it_publishes_lists_and_withdraws_an_offer(market, as_user):
    host = as_user(market.host)
    response = host.post(OFFERS, offer_body(market, cap_kwh="50"), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["price_eur_per_kwh"] == "0.150000" and body["cap_kwh"] == "50.000000" and body["is_mine"]
    listed = as_user(market.buyer).get(OFFERS, {"open": "1"}).json()
    assert [o["id"] for o in listed["items"]] == [body["id"]] and not listed["items"][0]["is_mine"]
    assert as_user(market.buyer).get(f"{OFFERS}/{body['id']}").status_code == 200
    withdrawn = host.post(f"{OFFERS}/{body['id']}/withdraw")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert as_user(market.buyer).get(OFFERS, {"open": "1"}).json()["items"] == []


def test_it_takes_lists_and_cancels_an_allocation(market, as_user):
    offer = offer_make(market)
    buyer = as_user(market.buyer)
    response = buyer.post(ALLOCATIONS, {"offer": offer.pk, "max_kwh": "10"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["metering_point"] == market.buyer_point.pk and body["status"] == "active"
    assert [a["id"] for a in buyer.get(ALLOCATIONS, {"role": "buyer"}).json()["items"]] == [body["id"]]
    # the host sees the allocation on their offer
    assert [a["id"] for a in as_user(market.host).get(ALLOCATIONS, {"role": "host"}).json()["items"]] == [
        body["id"]
    ]
    again = buyer.post(ALLOCATIONS, {"offer": offer.pk}, format="json")
    assert again.status_code == 409 and again.json()["error"] == "AlreadyAllocated"
    cancelled = buyer.post(f"{ALLOCATIONS}/{body['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


def test_it_hides_other_communities(market, world, as_user):
    offer = offer_make(market)
    allocation = allocation_make(market, offer, market.buyer)
    outsider = as_user(world.b.member)
    assert outsider.get(f"{OFFERS}/{offer.pk}").status_code == 404
    assert outsider.post(f"{OFFERS}/{offer.pk}/withdraw").status_code == 404
    assert outsider.get(OFFERS).json()["items"] == []
    taken = outsider.post(ALLOCATIONS, {"offer": offer.pk}, format="json")
    assert taken.status_code == 404 and taken.json()["error"] == "NotFound"
    assert outsider.get(f"{ALLOCATIONS}/{allocation.pk}").status_code == 404
    assert outsider.post(f"{ALLOCATIONS}/{allocation.pk}/cancel").status_code == 404
    assert outsider.get("/api/v1/market/deliveries").json()["items"] == []
    # publishing into another community is a 404 too
    body = offer_body(market)
    assert outsider.post(OFFERS, body, format="json").status_code == 404
    assert Offer.objects.count() == 1 and Allocation.objects.get().status == "active"


def test_someone_elses_offer_or_allocation_is_403(market, as_user):
    offer = offer_make(market)
    allocation = allocation_make(market, offer, market.buyer)
    response = as_user(market.buyer2).post(f"{OFFERS}/{offer.pk}/withdraw")
    assert response.status_code == 403 and response.json()["error"] == "PermissionDenied"
    assert as_user(market.host).post(f"{ALLOCATIONS}/{allocation.pk}/cancel").status_code == 403
    assert as_user(market.buyer2).get(f"{ALLOCATIONS}/{allocation.pk}").status_code == 404
    offer.refresh_from_db()
    allocation.refresh_from_db()
    assert offer.status == "open" and allocation.status == "active"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price_eur_per_kwh", "0"),
        ("price_eur_per_kwh", "-0.10"),
        ("price_eur_per_kwh", "abc"),
        ("price_eur_per_kwh", "NaN"),
        ("price_eur_per_kwh", "0.1234567"),
        ("price_eur_per_kwh", "99"),
        ("cap_kwh", "0"),
        ("cap_kwh", "-5"),
        ("valid_to", "2020-01-01T00:00:00Z"),
    ],
)
def test_bad_offer_input_is_400_and_changes_nothing(market, as_user, field, value):
    response = as_user(market.host).post(OFFERS, offer_body(market, **{field: value}), format="json")
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["error"] == "ValidationError" and field in body["details"]
    assert not Offer.objects.exists()


def test_an_offer_needs_a_p2p_community_and_the_hosts_injecting_point(market, world, as_user):
    host = as_user(market.host)
    wrong_point = host.post(OFFERS, offer_body(market, metering_point=market.buyer_point.pk), format="json")
    assert wrong_point.status_code == 400 and "metering_point" in wrong_point.json()["details"]
    world.a.community.regime = "it_cer"
    world.a.community.save(update_fields=["regime"])
    not_p2p = host.post(OFFERS, offer_body(market), format="json")
    assert not_p2p.status_code == 400 and "community" in not_p2p.json()["details"]
    assert not Offer.objects.exists()


def test_a_sold_out_offer_is_not_open(market, as_user):
    offer = offer_make(market, cap="1")
    Offer.objects.filter(pk=offer.pk).update(delivered_kwh=1)
    assert as_user(market.buyer).get(OFFERS, {"open": "1"}).json()["items"] == []
    response = as_user(market.buyer).post(ALLOCATIONS, {"offer": offer.pk}, format="json")
    assert response.status_code == 409 and response.json()["error"] == "OfferNotOpen"


def test_taking_an_offer_outside_its_validity_is_409(market, as_user):
    later = offer_make(
        market, valid_from=timezone.now() + timedelta(days=1), valid_to=timezone.now() + timedelta(days=2)
    )
    response = as_user(market.buyer).post(ALLOCATIONS, {"offer": later.pk}, format="json")
    assert response.status_code == 409 and response.json()["error"] == "OfferNotOpen"
    withdrawn = offer_make(market)
    as_user(market.host).post(f"{OFFERS}/{withdrawn.pk}/withdraw")
    assert as_user(market.buyer).post(ALLOCATIONS, {"offer": withdrawn.pk}, format="json").status_code == 409
    assert not Allocation.objects.exists()


def test_a_host_cannot_buy_their_own_offer_and_max_must_be_positive(market, as_user):
    offer = offer_make(market)
    own = as_user(market.host).post(ALLOCATIONS, {"offer": offer.pk}, format="json")
    assert own.status_code == 400 and "offer" in own.json()["details"]
    bad = as_user(market.buyer).post(ALLOCATIONS, {"offer": offer.pk, "max_kwh": "-1"}, format="json")
    assert bad.status_code == 400 and "max_kwh" in bad.json()["details"]
    not_mine = as_user(market.buyer).post(
        ALLOCATIONS, {"offer": offer.pk, "metering_point": market.buyer2_point.pk}, format="json"
    )
    assert not_mine.status_code == 400 and "metering_point" in not_mine.json()["details"]
    assert not Allocation.objects.exists()


def test_deliveries_show_amounts_and_the_rule(market, as_user):
    from billing.tests.helpers import fund
    from market.settlement import deliveries_settle

    fund(market.buyer, "5.00")
    allocation_make(market, offer_make(market, price="0.20"), market.buyer)
    market.inject({market.t0: 2.0})
    market.withdraw(market.buyer_point, {market.t0: 2.0})
    deliveries_settle(community=market.community, start=market.t0, end=market.t0 + timedelta(hours=1))
    for user, role in ((market.buyer, "buyer"), (market.host, "host")):
        items = as_user(user).get("/api/v1/market/deliveries", {"role": role}).json()["items"]
        assert len(items) == 1
        item = items[0]
        assert (item["energy_kwh"], item["amount_eur"], item["fee_eur"], item["total_eur"]) == (
            "2.000000",
            "0.40",
            "0.00",
            "0.40",
        )
        assert "0.200000 EUR/kWh" in item["rule"] and item["inputs"]["host_injection_kwh"] == "2.000000"
    assert as_user(market.buyer2).get("/api/v1/market/deliveries").json()["items"] == []


def test_the_schema_documents_the_market(db, capsys):
    from django.urls import include, path
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    doc = SchemaGenerator(patterns=[path("api/v1/", include("market.api_urls"))]).get_schema(
        request=None, public=True
    )
    validate_schema(doc)
    expected = {
        "/api/v1/market/offers": {"get", "post"},
        "/api/v1/market/offers/{id}": {"get"},
        "/api/v1/market/offers/{id}/withdraw": {"post"},
        "/api/v1/market/allocations": {"get", "post"},
        "/api/v1/market/allocations/{id}": {"get"},
        "/api/v1/market/allocations/{id}/cancel": {"post"},
        "/api/v1/market/deliveries": {"get"},
    }
    for url, methods in expected.items():
        assert set(doc["paths"][url]) - {"parameters"} == methods, url
    params = {p["name"] for p in doc["paths"]["/api/v1/market/deliveries"]["get"]["parameters"]}
    assert {"role", "from", "to", "page", "size"} <= params
    assert "Warning" not in capsys.readouterr().err
