"""The homes over HTTP (issue 11): a member's and a referent's numbers are the dashboard
API's for the same period; outsiders see nothing of another community."""

import re
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from core.tests.home_data import build_home_data

pytestmark = pytest.mark.django_db


def _client(user, language="en"):
    c = Client(HTTP_ACCEPT_LANGUAGE=language)
    c.force_login(user)
    return c


def _raw(html: str, key: str) -> float:
    m = re.search(rf'data-(?:kwh|pct|live)="{key}" data-raw="([^"]*)"', html)
    assert m, key
    return float(m.group(1))


def test_the_member_home_shows_the_apis_numbers(world, as_user):
    build_home_data(world)
    html = _client(world.a.member).get("/").content.decode()
    api = as_user(world.a.member).get("/api/v1/dashboard").json()

    for key in ("import_kwh", "export_kwh", "produced_kwh"):
        assert _raw(html, key) == pytest.approx(api["energy_today_kwh"][key])
    assert _raw(html, "self_sufficiency") == pytest.approx(api["self_sufficiency_today_pct"])
    assert _raw(html, "consumption") == pytest.approx(
        api["energy_today_kwh"]["import_kwh"] + api["energy_today_kwh"]["self_consumed_kwh"])
    # the community: 2.0 kWh shared per hour, member A's share a fifth of it
    shared_month = _raw(html, "community_shared_month")
    assert shared_month > 0
    assert _raw(html, "my_share") == pytest.approx(shared_month / 5, rel=1e-6)
    assert 'id="chart-day"' in html and 'id="chart-month"' in html
    assert "Your community at a glance" not in html


def test_the_member_month_matches_the_daily_api(world, as_user):
    build_home_data(world)
    html = _client(world.a.member).get("/").content.decode()
    today = timezone.localdate(timezone=ZoneInfo("Europe/Rome"))
    first = today.replace(day=1)
    api = as_user(world.a.member).get("/api/v1/energy/daily",
                                      {"start": first.isoformat(), "end": today.isoformat()}).json()
    totals = api["totals"]
    expected = totals["import_kwh"] + totals["self_consumed_kwh"]
    assert _raw(html, "month_consumption") == pytest.approx(expected)


def test_the_referent_home_shows_the_community(world, as_user):
    build_home_data(world)
    html = _client(world.a.referent).get("/").content.decode()
    api = as_user(world.a.referent).get("/api/v1/dashboard", {"community": world.a.community.pk}).json()
    assert _raw(html, "production") == pytest.approx(api["power_w"]["production"])
    assert _raw(html, "consumption") == pytest.approx(api["power_w"]["consumption"])
    assert _raw(html, "community_shared_month") > 0
    assert 'id="members"' in html and "Other a" in html
    assert 'id="incentive"' in html and "€" in html
    assert "/admin/communities/membership/?community__id__exact=" in html


def test_a_referent_cannot_open_another_communitys_home(world):
    resp = _client(world.a.referent).get("/", {"community": world.b.community.pk})
    assert resp.status_code == 404


def test_a_member_sees_only_their_own_numbers_and_no_other_community(world):
    build_home_data(world)
    html = _client(world.b.member).get("/").content.decode()
    assert "Community a" not in html and "Other a" not in html
    assert 'data-kwh="community_shared_month" data-raw="0"' in html  # B's community: nothing shared


def test_the_referent_sees_the_meters_with_gaps(world):
    from datetime import timedelta

    from iot.models import Device

    data = build_home_data(world)
    now = timezone.now()
    Device.objects.filter(pk=data["meter_a"].pk).update(created_at=now - timedelta(hours=3))
    Device.objects.filter(pk=data["meter_o"].pk).update(created_at=now - timedelta(hours=6))  # 3 h missing
    html = _client(world.a.referent).get("/").content.decode()
    gaps = html.split('id="members-with-gaps"', 1)[1].split("</ul>", 1)[0]
    assert "Other a" in gaps and "Member a" not in gaps


def test_a_card_fills_its_slot_only_when_its_function_returns_one(world, monkeypatch):
    from core import home_cards

    cards = {"member": [("hidden", lambda request: None),
                        ("wallet_balance", lambda request: {"template": "portal/_card.html", "context": {
                            "title": "Wallet", "value": "12,50", "unit": "€", "link": "/wallet/",
                            "link_text": "Open"}})],
             "referent": []}
    monkeypatch.setattr(home_cards, "CARDS", cards)
    html = _client(world.a.member).get("/").content.decode()
    assert 'data-card="wallet_balance"' in html and "12,50 €" in html
    assert 'data-card="hidden"' not in html
    monkeypatch.undo()
    html = _client(world.a.member).get("/").content.decode()
    assert "data-card=" not in html  # the real slots stay hidden until their features land


def test_the_member_month_sets_each_day_against_the_same_day_last_year(world, as_user):
    """The month chart's line "same day last year": each day's consumption a year before,
    the daily API's figure for that day (import + self-consumed), in the chart's JSON and
    in the data table behind it."""
    import json
    from datetime import datetime, timedelta

    from iot.ingest.service import ingest
    from iot.rollups.service import rollup_run

    data = build_home_data(world)
    tz = ZoneInfo("Europe/Rome")
    today = timezone.localdate(timezone=tz)
    year_ago = today.replace(year=today.year - 1, day=min(today.day, 28))
    noon = datetime(year_ago.year, year_ago.month, year_ago.day, 12, tzinfo=tz)
    serial = data["meter_a"].serial
    items = [{"device": serial, "metric": "energy_import_kwh", "ts": noon + timedelta(minutes=15 * k),
              "value": 10 + 0.75 * k} for k in range(5)]  # 4 quarter hours of 0.75 kWh: 3 kWh
    assert ingest(items, source="import").rejected == 0
    rollup_run()

    html = _client(world.a.member).get("/").content.decode()
    month = json.loads(re.search(r'<script id="home-month" type="application/json">(.*?)</script>',
                                 html, re.S).group(1))
    api = as_user(world.a.member).get("/api/v1/energy/daily", {"start": year_ago.isoformat(),
                                                               "end": year_ago.isoformat()}).json()
    expected = (api["totals"]["import_kwh"] or 0) + (api["totals"]["self_consumed_kwh"] or 0)
    assert expected == pytest.approx(3.0)
    row = next(r for r in month if r["date"] == today.replace(day=year_ago.day).isoformat())
    assert row["last_year_kwh"] == pytest.approx(expected)
    others = [r["last_year_kwh"] for r in month if r["date"] != row["date"]]
    assert all(v is None for v in others)  # no data on the other days last year: nothing drawn
    assert "Same day last year (kWh)" in html
    it = _client(world.a.member, "it").get("/").content.decode()
    assert "Stesso giorno dell&#x27;anno scorso (kWh)" in it or "Stesso giorno dell'anno scorso (kWh)" in it


def test_the_referents_open_alerts_are_in_their_language(world):
    from iot.models import Alert, AlertKind

    data = build_home_data(world)
    Alert.objects.create(device=data["meter_a"], kind=AlertKind.OFFLINE, opened_at=timezone.now(),
                         message="no data")
    alerts = _client(world.a.referent, "it").get("/").content.decode().split('id="open-alerts"', 1)[1]
    assert "Dispositivo non in linea dal" in alerts.split("</ul>", 1)[0]
