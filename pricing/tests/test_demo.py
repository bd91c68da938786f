"""The pricing demo: a tariff for the demo community and NORD prices, idempotent."""

from io import StringIO

import pytest
from django.core.management import call_command

from pricing.models import MarketPrice, Tariff

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_a_tariff_and_prices_and_twice_changes_nothing(as_user):
    call_command("seed_demo", stdout=StringIO())
    tariff = Tariff.objects.get(community__slug="cer-san-lazzaro")
    assert tariff.kind == "tou" and tariff.band_prices.count() == 3
    prices = MarketPrice.objects.filter(market_zone="NORD", source="demo")
    count = prices.count()
    assert 62 * 24 - 2 <= count <= 62 * 24 + 2  # 60 days, today and tomorrow (DST days +-1)
    assert all(0 < p < 400 for p in prices.values_list("price_eur_per_mwh", flat=True))
    snapshot = list(prices.order_by("pk").values_list("pk", "price_eur_per_mwh"))
    call_command("seed_demo", stdout=StringIO())
    assert list(prices.order_by("pk").values_list("pk", "price_eur_per_mwh")) == snapshot
    assert Tariff.objects.filter(community__slug="cer-san-lazzaro").count() == 1
    # a demo member sees day-ahead hours through tomorrow
    member = tariff.community.memberships.filter(left_at__isnull=True).first().user
    hours = as_user(member).get("/api/v1/pricing/forecast").json()["hours"]
    assert hours[0]["zonal_source"] == "day_ahead" and hours[0]["supply_eur_per_kwh"] is not None
