"""The portal in a real browser (Debian's chromium through Playwright) against uvicorn
(websockets included), as a member and as a referent: real numbers that match the API's,
charts that draw, live updates, a phone layout without horizontal scroll, no axe-core
violation (WCAG 2.1 A/AA) on any portal page, and an Italian page without English left.

Screenshots of each page are kept under var/screenshots/ (test artefacts)."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from benchmarks.bench_query import asgi_server
from core.tests.browser import CspWatch, axe_violations, warm_up
from core.tests.home_data import build_home_data
from iot.ingest.service import ingest
from tests.conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)
SHOTS = ROOT / "var" / "screenshots"
CANVAS_DRAWN = """(id) => {
  const c = document.getElementById(id);
  if (!c || !c.width) return false;
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  for (let i = 3; i < d.length; i += 4) if (d[i]) return true;
  return false;
}"""
# English words that must not survive on the Italian home (labels of the portal)
ENGLISH = ["Today", "This month", "My community", "Consumption", "Production", "Shared energy",
           "Members", "Self-sufficiency", "Data table", "Log out", "Profile", "Home", "Live energy",
           "From the grid", "connecting", "Welcome", "Power"]


@pytest.fixture
def browse(world, monkeypatch):
    """browse(user, locale="en", width=1280) -> a page logged in as `user` on uvicorn."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    monkeypatch.setenv("MAP_TILE_URL", "")  # uvicorn runs with DEBUG=0: no OpenStreetMap in tests
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with asgi_server(connection.settings_dict["NAME"], pool=False) as host, sync_playwright() as pw:
        base = f"http://{host}"
        warm_up(base)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        contexts, outside, csp = [], [], CspWatch()

        def open_page(user=None, locale="en-GB", width=1280, height=900):
            context = browser.new_context(base_url=base, locale=locale,
                                          viewport={"width": width, "height": height})
            context.set_default_timeout(20_000)
            csp.watch(context)
            if user is not None:
                client = Client()
                client.force_login(user)
                context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": base,
                                      "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
            contexts.append(context)
            page = context.new_page()
            page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(base) else None)
            return page

        try:
            yield open_page
        finally:
            for context in contexts:
                context.close()
            browser.close()
        assert outside == []  # nothing from a CDN or a tile server
        csp.check()


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def raw(page, selector) -> float:
    return float(page.locator(selector).first.get_attribute("data-raw"))


def test_the_member_home_is_alive(browse, world):
    data = build_home_data(world)
    page = browse(world.a.member)
    page.goto("/")
    page.wait_for_function("() => window.Chart && Object.keys(Chart.instances).length === 2")
    assert page.evaluate(CANVAS_DRAWN, "chart-day") and page.evaluate(CANVAS_DRAWN, "chart-month")

    api = page.evaluate("fetch('/api/v1/dashboard').then((r) => r.json())")
    for key in ("import_kwh", "export_kwh", "produced_kwh"):
        assert raw(page, f'[data-kwh="{key}"]') == pytest.approx(api["energy_today_kwh"][key])
    assert raw(page, '[data-pct="self_sufficiency"]') == pytest.approx(api["self_sufficiency_today_pct"])
    assert raw(page, '[data-kwh="community_shared_month"]') > 0

    # live: a new meter reading changes "power now" without a reload
    page.wait_for_selector('#live-state[data-state="live"]')
    ingest([{"device": data["meter_a"].serial, "metric": "power_w", "ts": timezone.now(), "value": 1500.0}],
           source="mqtt")
    page.wait_for_function(
        "() => document.querySelector('[data-live=\"consumption\"]').dataset.raw === '5500'")
    # ... and the day curve's current quarter hour (5.5 kW), without a reload
    quarter = page.evaluate("document.getElementById('chart-day').dataset.liveQuarter")
    assert quarter and quarter[-2:] in ("00", "15", "30", "45")
    curve = page.evaluate("(() => { const el = document.getElementById('chart-day');"
                          " const c = Chart.getChart(el), i = c.data.labels.indexOf(el.dataset.liveQuarter);"
                          " return [i, c.data.labels.length, c.data.datasets[0].data[i]]; })()")
    assert curve[0] == curve[1] - 1 and curve[2] == pytest.approx(5.5)

    assert axe_violations(page) == []
    page.screenshot(path=str(SHOTS / "member-home.png"), full_page=True)


def test_the_referent_home_is_alive(browse, world):
    build_home_data(world)
    page = browse(world.a.referent)
    page.goto("/")
    page.wait_for_function("() => window.Chart && Object.keys(Chart.instances).length === 1")
    assert page.evaluate(CANVAS_DRAWN, "chart-shared")
    api = page.evaluate(f"fetch('/api/v1/dashboard?community={world.a.community.pk}').then((r) => r.json())")
    assert raw(page, '[data-live="production"]') == pytest.approx(api["power_w"]["production"])
    assert page.locator("#members tbody tr").count() == 2
    assert page.locator("#quick-links a").count() >= 4
    page.wait_for_selector('#live-state[data-state="live"]')
    assert axe_violations(page) == []
    page.screenshot(path=str(SHOTS / "referent-home.png"), full_page=True)


def test_every_portal_page_passes_axe_and_fits_a_phone(browse, world):
    data = build_home_data(world)
    pages = {"member-home": "/", "profile": "/profile/", "live": "/iot/",
             "device": f"/iot/devices/{data['meter_a'].pk}/",
             "community": f"/community/{world.a.community.pk}/",
             "metering-points": "/metering-points/", "plants": "/plants/", "simulation": "/simulation/"}
    failures = {}
    visitor = {"login": "/accounts/login/", "signup": "/accounts/signup/"}
    for user, prefix, urls in ((world.a.member, "member", pages),
                               (world.a.referent, "referent", {"referent-home": "/"}),
                               (None, "visitor", visitor)):
        for width in (1280, 360):
            page = browse(user, width=width, height=740)
            for name, url in urls.items():
                page.goto(url)
                page.wait_for_load_state("networkidle")
                if width == 360:
                    assert no_horizontal_scroll(page), f"{name}: horizontal scroll at 360 px"
                    page.screenshot(path=str(SHOTS / f"phone-{prefix}-{name}.png"), full_page=True)
                else:
                    page.screenshot(path=str(SHOTS / f"{prefix}-{name}.png"), full_page=True)
                violations = axe_violations(page)
                if violations:
                    failures[f"{name}@{width}"] = violations
            if width == 360 and user is not None:  # the menu collapses and opens
                assert not page.locator("#site-nav").is_visible()
                page.click(".nav-toggle")
                assert page.locator("#site-nav a[href='/profile/']").is_visible()
    assert failures == {}


def test_the_italian_home_has_no_english_left(browse, world):
    build_home_data(world)
    page = browse(world.a.member, locale="it-IT")
    page.goto("/")
    page.wait_for_function("() => window.Chart && Object.keys(Chart.instances).length === 2")
    assert page.locator("html").get_attribute("lang") == "it"
    text = page.locator("body").inner_text()
    left = [w for w in ENGLISH if re.search(rf"\b{re.escape(w)}\b", text)]
    assert left == []
    assert "Questo mese" in text and "Energia condivisa" in text
    # chart legends come from the JavaScript catalogue
    labels = page.evaluate(
        "Object.values(Chart.instances).flatMap((c) => c.data.datasets.map((d) => d.label))")
    assert "Eccedenza della comunità" in labels and "Dalla rete" in labels
    # numbers in Italian format: a decimal comma in the kWh figures
    assert re.search(r"\d,\d kWh", text)
    assert axe_violations(page) == []
    page.screenshot(path=str(SHOTS / "member-home-it.png"), full_page=True)
