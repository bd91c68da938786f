"""Cost per request: the lists a dashboard page and a referent open most, with 50 rows, take
a fixed, small number of SQL queries (no query per row)."""

from datetime import date

import pytest
from rest_framework_simplejwt.tokens import AccessToken

from conftest import make_user
from iot.testing.registry import make_device

pytestmark = pytest.mark.django_db

ROWS = 50


@pytest.fixture
def crowded(world):
    """Community A with 50 more members, each with a plant and a meter (+ an inverter)."""
    from communities.models import Membership
    from plants.models import Plant

    for i in range(ROWS):
        user = make_user(f"crowd-{i}@example.com", full_name=f"Crowd {i}")
        Membership.objects.create(user=user, community=world.a.community, joined_at=date(2025, 1, 1))
        plant = Plant.objects.create(name=f"Crowd {i}", owner=user, community=world.a.community,
                                     location=world.a.plant.location, capacity_kwp=3)
        make_device(f"CROWD-MTR-{i}", kind="meter", plant=plant)
    make_device("A-INV", kind="inverter", plant=world.a.plant)
    make_device("A-MTR", kind="meter", plant=world.a.plant)
    # The privacy policy in force is cached (Redis, 60 s): every request but one a minute
    # finds it there, so the counts below are those of a warm cache.
    from privacy.consent import policy_current

    policy_current()
    return world


def _get(client, user, path):
    token = AccessToken.for_user(user)
    response = client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.content
    return response.json()


# JWT user, (count,) page, prefetch: a constant, whatever the number of rows; the devices
# list adds one query for the ids the caller manages (only they see `connection`/`last_error`)
@pytest.mark.parametrize(("path", "most"), [("/api/v1/members?size=50", 4),
                                            ("/api/v1/iot/devices?size=50", 4)])
def test_a_referent_lists_50_rows_in_a_few_queries(crowded, client, django_assert_max_num_queries,
                                                   path, most):
    with django_assert_max_num_queries(most):
        body = _get(client, crowded.a.referent, path)
    assert len(body["items"]) == ROWS and body["total"] > ROWS


def test_the_dashboard_costs_the_same_few_queries_for_1_or_50_devices(
        crowded, client, django_assert_max_num_queries):
    community = crowded.a.community.pk
    # JWT user, the community (visible), may the caller manage it (403 otherwise), devices, readings
    with django_assert_max_num_queries(6):
        overview = _get(client, crowded.a.referent, f"/api/v1/dashboard?community={community}")
    assert overview["devices"]["total"] == ROWS + 2
    with django_assert_max_num_queries(4):
        mine = _get(client, crowded.a.member, "/api/v1/dashboard")
    assert mine["devices"]["total"] == 2


def test_the_series_of_a_device_costs_a_few_queries(crowded, client, django_assert_max_num_queries):
    from iot.models import Device

    device = Device.objects.get(serial="A-MTR")
    with django_assert_max_num_queries(5):
        _get(client, crowded.a.member, f"/api/v1/iot/devices/{device.pk}/timeseries?metric=power_w")


def test_the_battery_history_and_health_cost_the_same_for_1_or_12_batteries(world, client):
    """One grouped query for every battery, not one per device (and metric)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from iot.ingest.service import ingest
    from privacy.consent import policy_current

    policy_current()  # warm, as above
    community = world.a.community.pk

    def add(n):
        for i in range(n):
            serial = f"BAT-{i}-{n}"
            make_device(serial, kind="battery", plant=world.a.plant)
            ingest([{"device": serial, "metric": "soc_pct", "ts": timezone.now(), "value": 50.0 + i},
                    {"device": serial, "metric": "power_w", "ts": timezone.now(), "value": -100.0}],
                   source="http")

    def cost(path):
        with CaptureQueriesContext(connection) as queries:
            body = _get(client, world.a.referent, f"{path}&community={community}")
        return len(queries), len(body["batteries"])

    add(1)
    one = {p: cost(p) for p in ("/api/v1/battery/history?hours=3", "/api/v1/battery/health?days=7")}
    add(11)
    many = {p: cost(p) for p in one}
    assert {p: n for p, (_, n) in one.items()} == dict.fromkeys(one, 1)
    assert {p: n for p, (_, n) in many.items()} == dict.fromkeys(one, 12)
    assert {p: q for p, (q, _) in many.items()} == {p: q for p, (q, _) in one.items()}
    history = _get(client, world.a.referent, f"/api/v1/battery/history?hours=3&community={community}")
    socs = sorted(b["soc_pct"]["value"][0] for b in history["batteries"])
    assert socs == [50.0] + [50.0 + i for i in range(11)]
