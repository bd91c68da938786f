"""End to end in a real browser: sign up, confirm the email, log in, see the dashboard.

Later issues add their pages to this walk (they reuse the `page` fixture of tests/conftest.py).
"""

import re

import pytest

from accounts.testing import deliver_account_emails
from conftest import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_visitor_signs_up_confirms_and_reaches_the_dashboard(page, mailoutbox):
    page.goto("/accounts/signup/")
    page.fill("#id_email", "browser@example.com")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/confirm-email/")
    assert "browser@example.com" in page.content() or "verification" in page.content().lower()

    deliver_account_emails()  # the Celery sender's work (accounts outbox)
    assert len(mailoutbox) == 1
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+", mailoutbox[0].body).group(0)
    page.goto(link)
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/login/")

    page.fill("#id_login", "browser@example.com")
    page.fill("#id_password", PASSWORD)
    page.click("form.stacked button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))
    assert page.locator("h1").inner_text().startswith("Welcome")
    assert page.get_by_test_id("current-user").inner_text() == "browser@example.com"


def test_a_locked_account_gets_the_error_page(page):
    make_user("lock@example.com")
    for _ in range(5):
        page.goto("/accounts/login/")
        page.fill("#id_login", "lock@example.com")
        page.fill("#id_password", "wrong-password")
        page.click("form.stacked button[type=submit]")
    page.goto("/accounts/login/")
    page.fill("#id_login", "lock@example.com")
    page.fill("#id_password", PASSWORD)
    posted = lambda r: r.url.endswith("/accounts/login/") and r.request.method == "POST"  # noqa: E731
    with page.expect_response(posted) as info:
        page.click("form.stacked button[type=submit]")
    assert info.value.status == 429
    assert "Too many failed logins" in page.content()


def test_the_api_docs_render_without_the_internet(page):
    outside = []
    page.on("request", lambda r: None if r.url.startswith(page.base_url) else outside.append(r.url))
    page.goto("/api/v1/docs/")
    page.get_by_text("/api/v1/auth/login", exact=True).wait_for()
    # Swagger UI renders only the operations near the viewport: scroll down to the last tag
    profile = page.get_by_text("/api/v1/users/profile", exact=True)
    for _ in range(200):
        if profile.count():
            break
        page.mouse.wheel(0, 1500)
        page.wait_for_timeout(50)
    profile.first.wait_for()
    assert outside == []
