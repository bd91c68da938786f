"""Browser fixtures: Playwright driving Debian's chromium (no browser download), headless.
A test during which the page reports a Content-Security-Policy violation fails."""

import os

import pytest

from core.tests.browser import CspWatch

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def page(live_server, monkeypatch):
    """A fresh browser page; `page.base_url` is the live server's address."""
    # Playwright's sync API runs its own event loop; Django must allow sync ORM calls from
    # the test thread that now has a loop around.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(base_url=live_server.url)
        context.set_default_timeout(15_000)
        csp = CspWatch()
        csp.watch(context)
        tab = context.new_page()
        tab.base_url = live_server.url
        tab.csp = csp
        try:
            yield tab
        finally:
            context.close()
            browser.close()
        csp.check()
