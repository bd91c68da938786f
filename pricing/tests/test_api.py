"""GET /api/v1/pricing/current and /pricing/forecast through HTTP, scoped per tenant."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from pricing.models import MarketPrice, Tariff
from pricing.selectors import supply_price
from pricing.tests.conftest import F_PRICES, tou_tariff

pytestmark = pytest.mark.django_db
ROME = ZoneInfo("Europe/Rome")
CURRENT, FORECAST = "/api/v1/pricing/current", "/api/v1/pricing/forecast"


def this_hour() -> datetime:
    return timezone.now().astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def seed_prices(*, days_back=30, hours_ahead=6, zone="NORD") -> None:
    start = this_hour() - timedelta(days=days_back)
    rows = [MarketPrice(market_zone=zone, interval_start=start + timedelta(hours=i), resolution_minutes=60,
                        price_eur_per_mwh=Decimal(100 + (start + timedelta(hours=i)).hour), source="demo")
            for i in range(days_back * 24 + hours_ahead)]
    MarketPrice.objects.bulk_create(rows)


def test_a_member_gets_their_current_supply_price_band_and_zonal_price(world, scheme, as_user):
    tariff = tou_tariff(world.a.community, scheme)
    seed_prices()
    resp = as_user(world.a.member).get(CURRENT)
    assert resp.status_code == 200, resp.content
    body = resp.json()
    band = scheme.band_at(timezone.now().astimezone(ROME))
    assert body["community"]["id"] == world.a.community.pk and body["tariff"]["id"] == tariff.pk
    assert body["band"] == band and Decimal(body["supply_eur_per_kwh"]) == F_PRICES[band]
    assert Decimal(body["zonal_eur_per_mwh"]) == 100 + this_hour().hour
    assert body["zonal_source"] == "day_ahead"
    # the selector settlement calls says the same
    assert supply_price(membership=world.a.membership, at=timezone.now()) == (F_PRICES[band], band, tariff.pk)


def test_it_hides_other_communities(world, scheme, as_user):
    tou_tariff(world.b.community, scheme)
    for user in (world.a.member, world.a.referent, world.a.vendor):
        for url in (CURRENT, FORECAST):
            resp = as_user(user).get(url, {"community": world.b.community.pk})
            assert resp.status_code == 404, (user, url, resp.content)
            assert "tariff" not in resp.json()
    assert as_user(world.b.vendor).get(CURRENT, {"community": world.b.community.pk}).status_code == 200
    assert as_user(world.admin).get(CURRENT, {"community": world.b.community.pk}).status_code == 200


def test_it_rejects_bad_parameters(world, as_user):
    client = as_user(world.a.member)
    bad = ((CURRENT, {"community": "abc"}), (FORECAST, {"hours": "0"}), (FORECAST, {"hours": "49"}),
           (FORECAST, {"hours": "x"}), (CURRENT, {"community": "-1"}))
    for url, params in bad:
        resp = client.get(url, params)
        assert resp.status_code == 400, (url, params)
        assert resp.json()["error"] == "ValidationError"
    # staff who are not members must say which community
    resp = as_user(world.a.vendor).get(CURRENT)
    assert resp.status_code == 400 and "community" in resp.json()["details"]
    assert as_user(world.a.vendor).get(FORECAST, {"community": world.a.community.pk}).status_code == 200


def test_anonymous_callers_are_refused(api):
    assert api.get(CURRENT).status_code == 401


def test_the_forecast_has_24_hours_day_ahead_then_forecast(world, scheme, as_user):
    tou_tariff(world.a.community, scheme)
    seed_prices(hours_ahead=6)
    resp = as_user(world.a.member).get(FORECAST)
    assert resp.status_code == 200, resp.content
    hours = resp.json()["hours"]
    assert len(hours) == 24
    assert [h["zonal_source"] for h in hours] == ["day_ahead"] * 6 + ["forecast"] * 18
    for h in hours:
        start = datetime.fromisoformat(h["start"].replace("Z", "+00:00"))
        band = scheme.band_at(start.astimezone(ROME))
        assert h["band"] == band and Decimal(h["supply_eur_per_kwh"]) == F_PRICES[band]
        # every seeded day has price 100 + UTC hour: the forecast finds the same
        assert Decimal(h["zonal_eur_per_mwh"]) == 100 + start.hour
    assert datetime.fromisoformat(hours[0]["start"].replace("Z", "+00:00")) == this_hour()
    assert len(as_user(world.a.member).get(FORECAST, {"hours": 3}).json()["hours"]) == 3


def test_a_members_own_tariff_wins_and_others_do_not_see_it(world, scheme, as_user):
    tou_tariff(world.a.community, scheme)
    today = timezone.now().astimezone(ROME).date()
    own = Tariff.objects.create(community=world.a.community, membership=world.a.membership, name="Mine",
                                kind="flat", flat_eur_per_kwh=Decimal("0.2"),
                                valid_from=today - timedelta(days=1))
    body = as_user(world.a.member).get(CURRENT).json()
    assert body["tariff"] == {"id": own.pk, "name": "Mine", "kind": "flat", "personal": True}
    assert body["supply_eur_per_kwh"] == "0.200000"
    other = as_user(world.a.other_member).get(CURRENT).json()
    assert other["tariff"]["personal"] is False and other["tariff"]["id"] != own.pk
    assert not Tariff.objects.visible_to(world.a.other_member).filter(pk=own.pk).exists()


def test_a_dynamic_tariff_prices_the_zonal_price(world, as_user):
    today = timezone.now().astimezone(ROME).date()
    Tariff.objects.create(community=world.a.community, name="Index", kind="dynamic",
                          dynamic_multiplier=Decimal("1.1"), dynamic_spread_eur_per_kwh=Decimal("0.012"),
                          valid_from=today - timedelta(days=1))
    seed_prices(hours_ahead=1)
    hour = this_hour().hour
    body = as_user(world.a.member).get(CURRENT).json()
    expected = (Decimal(100 + hour) / 1000 * Decimal("1.1") + Decimal("0.012")).quantize(Decimal("0.000001"))
    assert Decimal(body["supply_eur_per_kwh"]) == expected and body["band"] is None
    hours = as_user(world.a.member).get(FORECAST).json()["hours"]
    assert hours[0]["supply_estimated"] is False and hours[1]["supply_estimated"] is True


def test_without_tariff_or_prices_the_fields_are_null(world, as_user):
    body = as_user(world.a.member).get(CURRENT).json()
    assert body["tariff"] is None and body["supply_eur_per_kwh"] is None and body["zonal_eur_per_mwh"] is None
    hours = as_user(world.a.member).get(FORECAST).json()["hours"]
    assert {h["zonal_source"] for h in hours} == {"unavailable"}
