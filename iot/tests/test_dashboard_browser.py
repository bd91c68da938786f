"""The portal's live pages in a real browser (Debian's chromium through Playwright) against
a real ASGI server (uvicorn: websockets included): values change without a reload when a
reading is ingested, and the history chart draws from the timeseries API."""

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from benchmarks.bench_query import asgi_server
from core.tests.browser import CspWatch, warm_up
from iot.ingest.service import ingest
from iot.rollups.service import rollup_run
from iot.testing.registry import make_device
from tests.conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_page(world, monkeypatch):
    """(page, base url) logged in as member A, served by uvicorn on the test database."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop in this thread
    from playwright.sync_api import sync_playwright

    client = Client()
    client.force_login(world.a.member)
    with asgi_server(connection.settings_dict["NAME"], pool=False) as host, sync_playwright() as pw:
        base = f"http://{host}"
        warm_up(base)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(base_url=base)
        context.set_default_timeout(15_000)
        csp = CspWatch()
        csp.watch(context)
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME,
                              "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "url": base}])
        page = context.new_page()
        outside = []
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(base) else None)
        try:
            yield page
        finally:
            context.close()
            browser.close()
        assert outside == []  # nothing from a CDN
        csp.check()


def test_the_live_dashboard_updates_without_reload(browser_page, world):
    meter, _ = make_device("BR-MTR-A", kind="meter", plant=world.a.plant)
    ingest([{"device": meter.serial, "metric": "power_w", "ts": timezone.now(), "value": 100.0}],
           source="http")
    page = browser_page

    page.goto("/iot/")
    page.wait_for_selector('#live-state[data-state="live"]')
    ingest([{"device": meter.serial, "metric": "power_w", "ts": timezone.now(), "value": 4321.0}],
           source="mqtt")

    page.wait_for_function(
        f"() => document.querySelector('tr[data-device=\"{meter.pk}\"] td[data-metric=\"power_w\"]')"
        ".textContent === '4321'")
    assert page.locator('[data-kpi="grid"]').inner_text() == "4321"


def test_the_device_page_draws_the_history_chart(browser_page, world):
    meter, _ = make_device("BR-MTR-B", kind="meter", plant=world.a.plant)
    now = timezone.now()
    ingest([{"device": meter.serial, "metric": "power_w", "ts": now.replace(minute=m), "value": float(m)}
            for m in range(0, min(now.minute, 30) + 1)], source="http")
    rollup_run()
    page = browser_page

    page.goto(f"/iot/devices/{meter.pk}/")

    page.wait_for_function("() => Object.keys(Chart.instances).length === 1")
    assert "points at raw" in page.locator("#history-info").inner_text()
    page.select_option("select[name=resolution]", "1h")
    page.click("#history-form button")
    page.wait_for_function("() => document.querySelector('#history-info').textContent === '1 points at 1h'")
