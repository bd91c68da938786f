"""Commands left without acknowledgement fail after IOT_COMMAND_ACK_TIMEOUT_S (beat task);
a device that answers late is still recorded."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from iot.models import DeviceCommand
from iot.tasks import COMMANDS_EXPIRE_TASK, device_commands_expire_task
from iot.testing.mqtt_fixtures import bridge, broker, device_client, wait_until  # noqa: F401
from iot.testing.registry import make_device

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def battery(world, broker, settings):  # noqa: F811
    settings.MQTT_PORT = broker.port
    device, secret = make_device("BAT-EXP", kind="battery", plant=world.a.plant)
    broker.sync_auth()
    return device, secret


def send(as_user, world, device) -> dict:
    response = as_user(world.a.referent).post(f"/api/v1/iot/devices/{device.pk}/command",
                                              {"command": "reboot"}, format="json")
    assert response.status_code == 202 and response.json()["status"] == "sent"
    return response.json()


def listed(as_user, world, device) -> dict:
    items = as_user(world.a.member).get(f"/api/v1/iot/devices/{device.pk}/command").json()["items"]
    return {c["id"]: c for c in items}


def test_an_unanswered_command_fails_and_a_late_ack_still_counts(as_user, world, battery, broker, bridge,  # noqa: F811
                                                                 settings):
    device, secret = battery
    settings.IOT_COMMAND_ACK_TIMEOUT_S = 60
    old, recent = send(as_user, world, device), send(as_user, world, device)
    DeviceCommand.objects.filter(command_id=old["id"]).update(
        created_at=timezone.now() - timedelta(seconds=61))

    assert device_commands_expire_task() == {"expired": 1}

    commands = listed(as_user, world, device)
    assert commands[old["id"]]["status"] == "failed"
    assert commands[old["id"]]["error"] == "No acknowledgement within 60 s."
    assert commands[recent["id"]]["status"] == "sent"

    client = device_client(broker, "BAT-EXP", secret)
    client.publish("devices/BAT-EXP/commands/ack", json.dumps({"id": old["id"], "status": "ok"}), qos=1)
    acknowledged = DeviceCommand.objects.filter(command_id=old["id"], status="acknowledged")
    assert wait_until(acknowledged.exists)
    assert listed(as_user, world, device)[old["id"]]["error"] == ""
    client.loop_stop()


def test_the_expiry_runs_every_minute_in_beat():
    task = PeriodicTask.objects.get(task=COMMANDS_EXPIRE_TASK)
    assert (task.enabled, task.interval.every, task.interval.period) == (True, 1, "minutes")
