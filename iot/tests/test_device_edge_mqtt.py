"""The device edge over MQTT, against a real Mosquitto: no payload of any shape stops the
bridge (it is dead-lettered with its reason and the next good reading is stored), the inbox
is bounded, and a dead worker takes the bridge down instead of leaving it hanging."""

import json
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iot.bridges.mqtt_bridge import BridgeWorkerDied, MqttBridge
from iot.models import CommandStatus, DeadLetter, DeviceCommand
from iot.testing.mqtt_fixtures import bridge, broker, device_client, wait_until  # noqa: F401
from iot.testing.registry import make_device, stored_readings
from iot.tests.test_device_edge_http import documents, nested

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def meter(world, broker):  # noqa: F811
    device, secret = make_device("MQ-EDGE", kind="meter", plant=world.a.plant)
    broker.sync_auth()
    return device, secret


def publish(client, topic, payload: bytes | str):
    info = client.publish(topic, payload, qos=1)
    info.wait_for_publish(10)
    assert info.is_published()


def good(ts, value) -> str:
    return json.dumps([{"metric": "power_w", "ts": ts.isoformat(), "value": value}])


def test_deeply_nested_telemetry_and_acks_are_dead_lettered_and_the_bridge_goes_on(
        meter, broker, bridge):  # noqa: F811
    device, secret = meter
    now = timezone.now().replace(microsecond=0)
    command = DeviceCommand.objects.create(device=device, command="reboot", status=CommandStatus.SENT)
    client = device_client(broker, "MQ-EDGE", secret)

    publish(client, "devices/MQ-EDGE/telemetry", nested(1_100))
    publish(client, "devices/MQ-EDGE/telemetry",
            f'{{"metric": "power_w", "ts": "{now.isoformat()}", "value": {nested(1_000)}}}')
    publish(client, "devices/MQ-EDGE/commands/ack", nested(1_100))
    publish(client, "devices/MQ-EDGE/commands/ack",
            f'{{"id": "{command.command_id}", "result": {nested(1_000)}}}')
    publish(client, "devices/MQ-EDGE/commands/ack", b"\xff\xfe not utf-8")
    publish(client, "devices/MQ-EDGE/commands/ack", json.dumps({"id": str(uuid.uuid4())}))
    publish(client, "devices/MQ-EDGE/telemetry", good(now, 42))
    publish(client, "devices/MQ-EDGE/commands/ack",
            json.dumps({"id": str(command.command_id), "status": "ok"}))

    assert wait_until(lambda: stored_readings(device) == [("MQ-EDGE", "power_w", now, 42.0)]), \
        "\n".join(bridge.lines[-30:])
    assert wait_until(lambda: DeviceCommand.objects.get().status == CommandStatus.ACKNOWLEDGED)
    assert wait_until(lambda: DeadLetter.objects.count() == 6)
    reasons = sorted(DeadLetter.objects.values_list("topic", "reason"))
    acks = [r for t, r in reasons if t.endswith("/ack")]
    assert sum(r == "nested deeper than 32 levels" for r in acks) == 1
    assert sum(r.startswith("not valid JSON") for r in acks) == 2  # past orjson's depth; not UTF-8
    assert sum(r.startswith("no command ") for r in acks) == 1
    telemetry = [r for t, r in reasons if t.endswith("/telemetry")]
    assert sum("nested deeper" in r or "not valid JSON" in r for r in telemetry) == 2
    assert set(DeadLetter.objects.values_list("device_id", flat=True)) == {device.pk}
    assert bridge.alive()
    client.loop_stop()


def test_the_per_message_reading_limit_applies_to_mqtt(meter, broker, bridge):  # noqa: F811
    device, secret = meter
    client = device_client(broker, "MQ-EDGE", secret)
    values = {f"m{i}": 1 for i in range(10_001)}
    publish(client, "devices/MQ-EDGE/telemetry",
            json.dumps({"ts": timezone.now().isoformat(), "values": values}))

    assert wait_until(DeadLetter.objects.exists)
    assert DeadLetter.objects.get().reason == "a batch holds at most 10000 readings (10001 sent)"
    assert stored_readings(device) == []
    client.loop_stop()


def test_fuzzed_payloads_on_both_topics_never_stop_the_bridge(meter, broker, bridge):  # noqa: F811
    device, secret = meter
    client = device_client(broker, "MQ-EDGE", secret)
    sent = []

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(document=documents, topic=st.sampled_from(["telemetry", "commands/ack"]))
    def fuzz(document, topic):
        publish(client, f"devices/MQ-EDGE/{topic}", document)
        sent.append(document)

    fuzz()
    now = timezone.now().replace(microsecond=0) - timedelta(seconds=2)
    publish(client, "devices/MQ-EDGE/telemetry", good(now, 1234.5))

    assert wait_until(lambda: ("MQ-EDGE", "power_w", now, 1234.5) in stored_readings(device), timeout=60), \
        "\n".join(bridge.lines[-30:])
    assert DeadLetter.objects.exists() and len(sent) >= 30
    assert bridge.alive()
    assert "Traceback" not in "\n".join(bridge.lines) or "could not be processed" in "\n".join(bridge.lines)
    client.loop_stop()


def test_the_inbox_is_bounded_and_nothing_is_lost(meter, broker):  # noqa: F811
    device, secret = meter
    start = timezone.now().replace(microsecond=0) - timedelta(minutes=10)
    in_process = MqttBridge(port=broker.port, client_id=f"inbox-{uuid.uuid4().hex[:6]}", inbox_max=5,
                            batch_ms=20, workers=1)
    in_process.start()
    try:
        assert wait_until(lambda: in_process.generation == 1, timeout=10)
        client = device_client(broker, "MQ-EDGE", secret)
        for i in range(40):  # the writers are not running yet: only 5 may wait in memory
            client.publish("devices/MQ-EDGE/telemetry", good(start + timedelta(seconds=i), i), qos=1)
        time.sleep(1.5)
        assert in_process.inbox.qsize() == 5

        runner = threading.Thread(target=in_process.run, kwargs={"max_seconds": 30})
        runner.start()
        assert wait_until(lambda: len(stored_readings(device)) == 40, timeout=25)
        in_process.stop()
        runner.join(10)
        client.loop_stop()
    finally:
        in_process.stop()
        in_process.close()


def test_a_dead_worker_stops_the_bridge_instead_of_hanging(meter, broker):  # noqa: F811
    _, secret = meter

    def bug(batch):
        raise RuntimeError("a bug in a writer")

    in_process = MqttBridge(port=broker.port, client_id=f"dies-{uuid.uuid4().hex[:6]}", batch_ms=20,
                            workers=3, on_batch=bug)
    in_process.start()
    client = device_client(broker, "MQ-EDGE", secret)
    now = timezone.now().replace(microsecond=0)
    try:
        wait_until(lambda: in_process.generation == 1, timeout=10)
        for i in range(5):
            publish(client, "devices/MQ-EDGE/telemetry", good(now - timedelta(seconds=i), i))
        started = time.monotonic()
        with pytest.raises(BridgeWorkerDied, match="a bug in a writer"):
            in_process.run(max_seconds=30)
        assert time.monotonic() - started < 10
    finally:
        client.loop_stop()
        in_process.close()


def test_the_command_exits_non_zero_when_a_worker_dies(meter, broker, monkeypatch):  # noqa: F811
    _, secret = meter

    def dies(self, batch):
        raise MemoryError("worker gone")

    monkeypatch.setattr(MqttBridge, "_process_until_stored", dies)
    client = device_client(broker, "MQ-EDGE", secret)
    done = threading.Event()

    def keep_publishing():  # until the bridge (started below, in this thread) has subscribed
        while not done.wait(0.5):
            client.publish("devices/MQ-EDGE/telemetry", good(timezone.now(), 1), qos=1)

    threading.Thread(target=keep_publishing, daemon=True).start()
    started = time.monotonic()
    with pytest.raises(CommandError, match="worker gone") as raised:
        call_command("mqtt_bridge", "--port", str(broker.port), "--client-id", "cmd-dies",
                     "--workers", "2", "--max-seconds", "30")
    done.set()
    client.loop_stop()
    assert raised.value.returncode == 70  # `manage.py mqtt_bridge` exits with it
    assert time.monotonic() - started < 15


@pytest.fixture
def auto_sync(settings, broker):  # noqa: F811
    """Production's default: every registry change rewrites the broker's files and reloads it
    (through the pid file, as deploy/mosquitto/run.sh writes it)."""
    settings.MQTT_AUTO_SYNC_AUTH = True
    settings.MQTT_AUTH_DIR = broker.directory
    (broker.directory / "mosquitto.pid").write_text(str(broker.process.pid))
    return broker


def refused_within(broker, serial, secret, seconds=5.0) -> bool:  # noqa: F811
    def refused():
        try:
            device_client(broker, serial, secret).loop_stop()
        except ConnectionRefusedError:
            return True
        return False
    return bool(wait_until(refused, timeout=seconds, interval=0.2))


def test_auto_sync_is_on_by_default_in_production():
    """Settings as production loads them (DEBUG=0, not testing, no MQTT_AUTO_SYNC_AUTH)."""
    import subprocess
    import sys

    from django.conf import settings as django_settings

    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings", "TESTING": "0", "DEBUG": "0",
           "SECRET_KEY": "k" * 64, "JWT_SIGNING_KEY": "j" * 64, "MQTT_PASSWORD": "p" * 20,
           "MQTT_SIMULATOR_PASSWORD": "s" * 20, "ALLOWED_HOSTS": "example.org",
           "EMAIL_URL": "smtp://127.0.0.1:25", "DATABASE_URL": "postgis://u:p@127.0.0.1:5432/x"}
    from core.testing import MANDATORY

    env.update({name: "x" * 40 for name in MANDATORY if name not in env})  # every other secret
    code = ("import django; django.setup(); from django.conf import settings; "
            "print(settings.MQTT_AUTO_SYNC_AUTH)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=str(django_settings.BASE_DIR))
    assert out.stdout.strip() == "True", out.stderr[-2000:]


def test_a_rotated_or_revoked_secret_stops_working_on_the_broker_within_seconds(as_user, world, auto_sync):
    response = as_user(world.a.referent).post("/api/v1/iot/devices/register", {
        "serial": "MQ-ROT", "kind": "meter", "plant": world.a.plant.pk}, format="json")
    assert response.status_code == 201
    device_id, first = response.json()["id"], response.json()["secret"]
    assert wait_until(lambda: _accepted(auto_sync, "MQ-ROT", first), timeout=5)  # synced on register

    second = as_user(world.a.referent).post(f"/api/v1/iot/devices/{device_id}/rotate-secret").json()["secret"]
    assert refused_within(auto_sync, "MQ-ROT", first)
    assert _accepted(auto_sync, "MQ-ROT", second)

    assert as_user(world.a.referent).patch(f"/api/v1/iot/devices/{device_id}", {"is_active": False},
                                           format="json").status_code == 200
    assert refused_within(auto_sync, "MQ-ROT", second)


def _accepted(broker, serial, secret) -> bool:  # noqa: F811
    try:
        device_client(broker, serial, secret).loop_stop()
    except ConnectionRefusedError:
        return False
    return True


def test_a_device_cannot_take_the_bridges_client_id(meter, broker, bridge):  # noqa: F811
    """On the devices' listener the client id is the username: a device asking for the
    bridge's id (to kick it off and take its persistent session) just gets its own."""
    device, secret = meter
    now = timezone.now().replace(microsecond=0)
    impostor = device_client(broker, "MQ-EDGE", secret, client_id=bridge.client_id, clean_session=False)
    publish(impostor, "devices/MQ-EDGE/telemetry", good(now, 9))

    assert wait_until(lambda: stored_readings(device) == [("MQ-EDGE", "power_w", now, 9.0)])
    time.sleep(0.5)
    assert bridge.alive()
    assert not any("bridge disconnected" in line for line in bridge.lines), bridge.lines[-10:]
    impostor.loop_stop()
    assert "connects=1" in bridge.stop()
