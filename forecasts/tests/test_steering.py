"""Battery steering end to end: schedule from the forecasts, shown to the referent; commands
only once the community opted in; sent over the real broker, acknowledged by the device,
tracked on the schedule; measured afterwards."""

import json
import threading
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from forecasts.models import BatterySchedule
from forecasts.steering import battery_schedule_measure
from forecasts.tests.conftest import ISSUE, _make_site
from iot.models import DeviceCommand
from iot.testing.mqtt_fixtures import bridge, broker, device_client, wait_until  # noqa: F401
from iot.testing.registry import make_device

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
DAY = "2025-06-18"


@pytest.fixture
def steered(world, broker, settings):  # noqa: F811
    from plants.models import Asset

    settings.MQTT_PORT = broker.port
    site = _make_site(world.a, "A", seed=3)
    site.plant.metering_point = site.meters[0]
    site.plant.save()
    Asset.objects.create(plant=site.plant, kind="battery", capacity_kwh=Decimal("20"), power_kw=Decimal("5"),
                         round_trip_efficiency=Decimal("0.9"), soc_min_pct=10, soc_max_pct=95)
    device, secret = make_device("BAT-A", kind="battery", plant=site.plant)
    broker.sync_auth()
    call_command("forecast", "--community", site.community.slug, "--at", ISSUE.isoformat(), stdout=StringIO())
    return site, device, secret


def _answering(broker, serial, secret):  # noqa: F811
    client = device_client(broker, serial, secret)
    received, subscribed = [], threading.Event()

    def on_message(client, userdata, message):
        body = json.loads(message.payload)
        received.append(body)
        ack = json.dumps({"id": body["id"], "status": "ok"})
        client.publish(f"devices/{serial}/commands/ack", ack, qos=1)

    client.on_message = on_message
    client.on_subscribe = lambda *args: subscribed.set()
    client.subscribe(f"devices/{serial}/commands", qos=1)
    assert subscribed.wait(10)
    return client, received


def test_schedules_are_sent_only_when_the_community_opted_in_and_acks_are_tracked(
        as_user, world, steered, broker, bridge):  # noqa: F811
    _site, device, secret = steered
    referent = as_user(world.a.referent)
    community = world.a.community.pk
    client, received = _answering(broker, "BAT-A", secret)

    plan = {"community": community, "day": DAY}
    response = referent.post("/api/v1/forecast/batteries", plan, format="json")
    assert response.status_code == 201, response.content
    [schedule] = response.json()["items"]
    assert schedule["command_status"] == "not sent" and schedule["device"] == device.pk
    assert len(schedule["charge_kwh"]) == 24
    assert max(schedule["charge_kwh"]) <= 5.0 + 1e-6 and max(schedule["discharge_kwh"]) <= 5.0 + 1e-6
    assert min(schedule["soc_kwh"]) >= 2.0 - 1e-6 and max(schedule["soc_kwh"]) <= 19.0 + 1e-6
    assert schedule["expected_shared_kwh"] >= schedule["expected_shared_without_kwh"] - 1e-6
    wait_until(lambda: False, timeout=1.0)
    assert not DeviceCommand.objects.exists() and received == []

    assert referent.patch(f"/api/v1/forecast/community/{community}/settings", {"battery_steering": True},
                          format="json").status_code == 200
    response = referent.post("/api/v1/forecast/batteries", plan, format="json")
    assert response.status_code == 201
    assert wait_until(lambda: received)
    assert received[0]["command"] == "set_schedule" and received[0]["payload"]["day"] == DAY
    assert len(received[0]["payload"]["power_kw"]) == 24
    command = wait_until(lambda: DeviceCommand.objects.filter(status="acknowledged").first())
    assert command is not None
    listed = referent.get(f"/api/v1/forecast/batteries?community={community}&day={DAY}").json()["items"]
    statuses = [(s["command_id"], s["command_status"]) for s in listed]
    assert statuses == [(str(command.command_id), "acknowledged")]
    # the plant owner sees their battery's schedule; the other member and outsiders do not
    assert len(as_user(world.a.member).get("/api/v1/forecast/batteries").json()["items"]) == 1
    assert as_user(world.a.other_member).get("/api/v1/forecast/batteries").json()["items"] == []
    assert as_user(world.b.referent).get("/api/v1/forecast/batteries").json()["items"] == []
    client.loop_stop()


def test_the_added_shared_energy_is_measured_afterwards(world, steered):
    from forecasts.steering import battery_schedules_plan

    site, _device, _secret = steered
    [schedule] = battery_schedules_plan(community=site.community, day=date(2025, 6, 18))
    # the battery did nothing (no counters): what it added is what its own rule would have
    # destroyed on the measured day, never negative
    added = battery_schedule_measure(schedule=schedule)
    assert added is not None and added >= -1e-9
    assert BatterySchedule.objects.get(pk=schedule.pk).measured_added_kwh == pytest.approx(added, abs=1e-3)
