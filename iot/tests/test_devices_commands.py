"""Device commands end to end: API -> broker -> device -> acknowledgement -> bridge -> DB."""

import json
import threading
from io import StringIO

import pytest
from django.core.management import call_command

from iot.models import DeviceCommand
from iot.testing.mqtt_fixtures import bridge, broker, device_client, publish_denied, wait_until  # noqa: F401
from iot.testing.registry import make_device

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def battery(world, broker, settings):  # noqa: F811
    settings.MQTT_PORT = broker.port
    device, secret = make_device("BAT-A", kind="battery", plant=world.a.plant)
    broker.sync_auth()
    return device, secret


def listen_and_answer(broker, serial, secret, status="ok"):  # noqa: F811
    """The device: subscribes to its commands and acknowledges each one."""
    client = device_client(broker, serial, secret)
    received = []
    subscribed = threading.Event()

    def on_message(client, userdata, message):
        body = json.loads(message.payload)
        received.append(body)
        ack = {"id": body["id"], "status": status, "result": {"applied": body["payload"]}}
        if status != "ok":
            ack["error"] = "limit out of range"
        client.publish(f"devices/{serial}/commands/ack", json.dumps(ack), qos=1)

    client.on_message = on_message
    client.on_subscribe = lambda *args: subscribed.set()
    client.subscribe(f"devices/{serial}/commands", qos=1)
    assert subscribed.wait(10)
    return client, received


def test_a_command_is_sent_and_acknowledged(as_user, world, battery, broker, bridge):  # noqa: F811
    device, secret = battery
    client, received = listen_and_answer(broker, "BAT-A", secret)

    response = as_user(world.a.referent).post(f"/api/v1/iot/devices/{device.pk}/command",
                                              {"command": "set_power_limit", "payload": {"kw": 3}},
                                              format="json")

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "sent" and body["command"] == "set_power_limit"
    assert wait_until(lambda: received) and received[0]["id"] == body["id"]
    cmd = wait_until(lambda: DeviceCommand.objects.filter(status="acknowledged").first())
    assert cmd is not None and str(cmd.command_id) == body["id"]
    assert cmd.response == {"applied": {"kw": 3}} and cmd.acked_at is not None
    listed = as_user(world.a.member).get(f"/api/v1/iot/devices/{device.pk}/command").json()["items"]
    assert [(c["id"], c["status"]) for c in listed] == [(body["id"], "acknowledged")]
    client.loop_stop()


def test_a_device_error_marks_the_command_failed(as_user, world, battery, broker, bridge):  # noqa: F811
    device, secret = battery
    client, _ = listen_and_answer(broker, "BAT-A", secret, status="error")
    as_user(world.a.vendor).post(f"/api/v1/iot/devices/{device.pk}/command",
                                 {"command": "set_power_limit", "payload": {"kw": 99}}, format="json")
    cmd = wait_until(lambda: DeviceCommand.objects.filter(status="failed").first())
    assert cmd is not None and cmd.error == "limit out of range"
    client.loop_stop()


def test_a_device_cannot_acknowledge_another_devices_command(as_user, world, battery, broker, bridge):  # noqa: F811
    device, _ = battery
    _, intruder_secret = make_device("BAT-X", kind="battery", plant=world.a.plant)
    broker.sync_auth()
    response = as_user(world.a.vendor).post(f"/api/v1/iot/devices/{device.pk}/command",
                                            {"command": "reboot"}, format="json")
    ack = json.dumps({"id": response.json()["id"], "status": "ok"})
    publish_denied(device_client(broker, "BAT-X", intruder_secret), "devices/BAT-A/commands/ack", ack)
    intruder = device_client(broker, "BAT-X", intruder_secret)
    intruder.publish("devices/BAT-X/commands/ack", ack, qos=1).wait_for_publish(5)  # not its command
    wait_until(lambda: False, timeout=1.5)
    assert DeviceCommand.objects.get().status == "sent"
    intruder.loop_stop()


def test_a_command_fails_when_the_broker_is_down(as_user, world, battery, broker):  # noqa: F811
    device, _ = battery
    broker.stop()
    response = as_user(world.a.vendor).post(f"/api/v1/iot/devices/{device.pk}/command",
                                            {"command": "reboot"}, format="json")
    assert response.status_code == 202
    assert response.json()["status"] == "failed" and "broker" in response.json()["error"]


def test_it_validates_commands(as_user, world, battery):
    device, _ = battery
    client = as_user(world.a.vendor)
    response = client.post(f"/api/v1/iot/devices/{device.pk}/command", {"command": "Bad Command!"},
                           format="json")
    assert response.status_code == 400 and "command" in response.json()["details"]
    response = client.post(f"/api/v1/iot/devices/{device.pk}/command", {"command": "reboot", "payload": [1]},
                           format="json")
    assert response.status_code == 400 and "payload" in response.json()["details"]
    members = as_user(world.a.member).post(f"/api/v1/iot/devices/{device.pk}/command",
                                           {"command": "reboot"}, format="json")
    assert members.status_code == 403
    assert not DeviceCommand.objects.exists()


def test_mqtt_sync_auth_writes_the_registry_into_the_broker_files(world, broker, tmp_path):  # noqa: F811
    _, secret = make_device("SYNC-1", plant=world.a.plant)
    make_device("SYNC-OFF", plant=world.a.plant, is_active=False)
    out = StringIO()
    pid_file = tmp_path / "broker.pid"
    pid_file.write_text(str(broker.process.pid))
    with pytest.raises(ConnectionRefusedError):  # not in the broker's files yet
        device_client(broker, "SYNC-1", secret)

    call_command("mqtt_sync_auth", "--dir", str(broker.directory), "--pid-file", str(pid_file), stdout=out)

    passwd = (broker.directory / "passwd").read_text()
    assert "SYNC-1:$7$101$" in passwd and "SYNC-OFF" not in passwd and secret not in passwd
    assert "pattern write devices/%u/telemetry" in (broker.directory / "acl").read_text()
    assert "3 accounts" in out.getvalue() and "broker reloaded" in out.getvalue()
    assert wait_until(lambda: _connects(broker, "SYNC-1", secret), timeout=5)


def _connects(broker, serial, secret) -> bool:  # noqa: F811
    try:
        device_client(broker, serial, secret).loop_stop()
    except ConnectionRefusedError:
        return False
    return True
