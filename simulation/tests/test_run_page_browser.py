"""The run page draws its four charts in a real browser, with Chart.js from static/vendor."""

import json
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from simulation.serializers import ScenarioIn
from simulation.services import scenario_create
from simulation.tests.conftest import payload
from tests.conftest import page  # noqa: F401  (the Playwright fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_run_page_shows_results_and_charts_offline(page, world):  # noqa: F811
    serializer = ScenarioIn(data=payload(community=world.a.community.pk))
    serializer.is_valid(raise_exception=True)
    scenario = scenario_create(actor=world.a.referent, data=serializer.validated_data)
    out = StringIO()
    call_command("simulate", str(scenario.pk), stdout=out)
    job = json.loads(out.getvalue())["job"]
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(page.base_url) else None)
    # a manager reads every line of the statute split; a member of the community none of the
    # others' (the simulated participants are not them): aggregates only
    for user, rows in ((world.a.referent, 3), (world.a.member, 0)):
        client = Client()
        client.force_login(user)
        page.context.clear_cookies()
        page.context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": page.base_url,
                }
            ]
        )
        page.goto(f"/simulation/runs/{job}/")
        page.wait_for_selector("#sim-results:not([hidden])")
        page.wait_for_function("() => Object.keys(Chart.instances).length === 4")
        assert page.locator("#sim-kpis .kpi").count() == 6
        assert page.locator("#sim-split tbody tr").count() == rows
        assert page.locator("#sim-csv").is_visible()
    assert outside == []
