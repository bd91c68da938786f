"""Portal pages: the forecast page (windows, chart data, skill, table), the member home's
green-windows card, the battery schedules page; other communities stay hidden."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from forecasts.tests.conftest import ISSUE

pytestmark = pytest.mark.django_db


def _client(user, language="en"):
    c = Client(HTTP_ACCEPT_LANGUAGE=language)
    c.force_login(user)
    return c


@pytest.fixture
def fresh(world):
    """Forecasts issued now for both communities (no history: clear-sky and BDEW fallbacks)."""
    world.a.plant.capacity_kwp = Decimal("60")
    world.a.plant.save()
    for community in (world.a.community, world.b.community):
        call_command("forecast", "--community", community.slug, stdout=StringIO())
    return world


def test_the_forecast_page_shows_the_windows_and_the_chart_data(fresh):
    world = fresh
    html = _client(world.a.member).get("/forecast/").content.decode()
    assert world.a.community.name in html and world.b.community.name not in html
    assert f'id="forecast-data-{world.a.community.pk}"' in html  # json_script for the chart
    assert 'data-role="green-message"' in html and "dishwasher" in html
    assert "<script>" not in html.replace('<script src=', '')  # no inline script (CSP)
    italian = _client(world.a.member, "it").get("/forecast/").content.decode()
    assert "Finestre verdi del" in italian and "lavastoviglie" in italian


def test_the_page_hides_other_communities(fresh):
    world = fresh
    assert _client(world.a.member).get(f"/forecast/?community={world.b.community.pk}").status_code == 404
    assert _client(world.a.member).get("/forecast/?community=x").status_code == 404


def test_the_member_home_shows_tomorrows_green_windows(fresh):
    world = fresh
    html = _client(world.a.member).get("/").content.decode()
    assert 'data-card="green_windows"' in html
    assert "tomorrow: about" in html


def test_the_home_card_stays_hidden_without_a_forecast(world):
    html = _client(world.a.member).get("/").content.decode()
    assert 'data-card="green_windows"' not in html


def test_the_referent_sees_the_battery_schedules_page(site):
    from forecasts.steering import battery_schedules_plan
    from iot.testing.registry import make_device
    from plants.models import Asset

    world_plant = site.plant
    world_plant.metering_point = site.meters[0]
    world_plant.save()
    Asset.objects.create(plant=world_plant, kind="battery", capacity_kwh=Decimal("10"), power_kw=Decimal("3"),
                         round_trip_efficiency=Decimal("0.9"))
    make_device("BAT-PORTAL", kind="battery", plant=world_plant)
    call_command("forecast", "--community", site.community.slug, "--at", ISSUE.isoformat(), stdout=StringIO())
    [schedule] = battery_schedules_plan(community=site.community, day=(ISSUE + timedelta(days=1)).date())
    referent = site.community.referents.first()
    html = _client(referent).get("/forecast/batteries/").content.decode()
    assert f'data-schedule="{schedule.pk}"' in html and "steering is off" in html
    from conftest import make_user

    outsider = make_user("nobody@example.com")
    assert 'data-schedule=' not in _client(outsider).get("/forecast/batteries/").content.decode()
