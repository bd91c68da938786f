"""The "My community" map draws the boundary and the plants in a real browser, with no tile
server (nothing is fetched from outside the site)."""

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import page  # noqa: F401  (the Playwright fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_map_renders_the_shapes_offline(page, world):  # noqa: F811
    client = Client()
    client.force_login(world.a.member)
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME,
                               "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                               "url": page.base_url}])
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(page.base_url) else None)
    page.goto(f"/community/{world.a.community.pk}/")
    page.wait_for_selector("#community-map svg path")
    shapes = page.locator("#community-map svg path").count()
    assert shapes == 2  # the boundary polygon and the one plant marker
    assert page.locator("#member-count").inner_text() == "2"
    assert outside == []
