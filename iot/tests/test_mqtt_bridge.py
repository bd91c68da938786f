"""The MQTT bridge against a real Mosquitto (project config, auth and ACL from the registry),
run as `manage.py mqtt_bridge` in a subprocess."""

import json
import re
import signal
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from iot.models import DeadLetter
from iot.testing.mqtt_fixtures import (  # noqa: F401
    BridgeProcess,
    bridge,
    broker,
    device_client,
    publish_denied,
    wait_until,
)
from iot.testing.registry import make_device, stored_readings

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def devices(world, broker):  # noqa: F811
    a, secret_a = make_device("MQ-A", kind="meter", plant=world.a.plant)
    b, secret_b = make_device("MQ-B", kind="meter", plant=world.b.plant)
    broker.sync_auth()
    return {"MQ-A": (a, secret_a), "MQ-B": (b, secret_b)}


def reading(ts, value, metric="power_w"):
    return {"metric": metric, "ts": ts.isoformat(), "value": value}


def publish(client, topic, payload, qos=1):
    body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    info = client.publish(topic, body, qos=qos)
    info.wait_for_publish(10)
    assert info.is_published()


def test_a_message_lands_once_even_when_redelivered(devices, broker, bridge):  # noqa: F811
    device, secret = devices["MQ-A"]
    now = timezone.now().replace(microsecond=0)
    message = [reading(now - timedelta(seconds=i), 100 + i) for i in range(10)]
    client = device_client(broker, "MQ-A", secret)

    publish(client, "devices/MQ-A/telemetry", message)
    publish(client, "devices/MQ-A/telemetry", message)  # the same message again, as a redelivery would
    publish(client, "devices/MQ-A/telemetry", {"ts": now.isoformat(), "values": {"voltage_v": 231}})

    assert wait_until(lambda: len(stored_readings(device)) == 11)
    time.sleep(0.5)  # give a (wrong) second copy time to arrive
    rows = stored_readings(device)
    assert len(rows) == 11 and len({(r[1], r[2]) for r in rows}) == 11
    client.loop_stop()
    output = bridge.stop()
    assert "accepted=11 duplicate=10 rejected=0" in output


def test_a_malformed_or_implausible_payload_is_dead_lettered_and_the_bridge_keeps_going(
        devices, broker, bridge):  # noqa: F811
    device, secret = devices["MQ-A"]
    now = timezone.now().replace(microsecond=0)
    client = device_client(broker, "MQ-A", secret)

    publish(client, "devices/MQ-A/telemetry", b"\x00not json{")
    publish(client, "devices/MQ-A/telemetry", [reading(now, 250, "soc_pct")])
    publish(client, "devices/MQ-A/telemetry", "42")
    publish(client, "devices/MQ-A/telemetry", [reading(now, 1.5, "energy_import_kwh")])

    assert wait_until(lambda: len(stored_readings(device)) == 1), "\n".join(bridge.lines[-20:])
    assert wait_until(lambda: DeadLetter.objects.count() == 3)  # batches may commit in any order
    letters = list(DeadLetter.objects.values_list("source", "reason"))
    assert len(letters) == 3 and {source for source, _ in letters} == {"mqtt"}
    reasons = " | ".join(sorted(reason for _, reason in letters))
    assert "not valid JSON" in reasons
    assert "outside the plausible range [0, 100] of soc_pct" in reasons
    assert "expected a reading object" in reasons
    assert DeadLetter.objects.filter(device=device, topic="devices/MQ-A/telemetry").count() == 3
    assert bridge.alive()
    client.loop_stop()


def test_a_device_cannot_publish_to_another_devices_topic(devices, broker, bridge):  # noqa: F811
    device_a, secret_a = devices["MQ-A"]
    device_b, _ = devices["MQ-B"]
    now = timezone.now().replace(microsecond=0)
    publish_denied(device_client(broker, "MQ-A", secret_a), "devices/MQ-B/telemetry",
                   json.dumps([reading(now, 666)]))  # the ACL drops it
    client = device_client(broker, "MQ-A", secret_a)
    publish(client, "devices/MQ-A/telemetry", [{**reading(now, 5), "device": "MQ-B"}])  # names B on A's topic
    publish(client, "devices/MQ-A/telemetry", [reading(now, 7)])  # arrives after the others

    assert wait_until(lambda: stored_readings(device_a) == [("MQ-A", "power_w", now, 7.0)])
    assert wait_until(lambda: DeadLetter.objects.exists())  # batches may commit in any order
    time.sleep(0.3)
    assert stored_readings(device_b) == []
    assert [d.reason for d in DeadLetter.objects.all()] == [
        "device 'MQ-B' does not match the sending device 'MQ-A'"]
    client.loop_stop()


def test_the_broker_refuses_wrong_or_old_credentials(devices, broker):  # noqa: F811
    from iot.devices.services import device_rotate_secret

    device, secret = devices["MQ-A"]
    with pytest.raises(ConnectionRefusedError):
        device_client(broker, "MQ-A", "wrong")
    new_secret = device_rotate_secret(device=device)
    broker.sync_auth()
    with pytest.raises(ConnectionRefusedError):
        device_client(broker, "MQ-A", secret)
    device_client(broker, "MQ-A", new_secret).loop_stop()


def test_the_bridge_survives_a_broker_restart_without_losing_or_duplicating(devices, broker, bridge):  # noqa: F811
    device, secret = devices["MQ-A"]
    start = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    client = device_client(broker, "MQ-A", secret, client_id="mq-a-persistent", clean_session=False)
    messages = 400
    published = []

    def stream():
        for m in range(messages):
            payload = [reading(start + timedelta(seconds=m * 10 + i), float(m)) for i in range(10)]
            published.append(client.publish("devices/MQ-A/telemetry", json.dumps(payload), qos=1))
            time.sleep(0.004)

    thread = threading.Thread(target=stream)
    thread.start()
    wait_until(lambda: len(published) > messages // 3, timeout=20, interval=0.01)
    broker.restart(signal.SIGTERM, down_s=1.0)  # mid-stream
    thread.join(60)

    assert wait_until(lambda: len(stored_readings(device)) >= messages * 10, timeout=120)
    time.sleep(1)
    rows = stored_readings(device)
    assert len(rows) == messages * 10
    assert [r[2] for r in rows] == [start + timedelta(seconds=s) for s in range(messages * 10)]
    assert bridge.alive()
    client.loop_stop()
    output = bridge.stop()
    assert "connects=2" in output or "connects=3" in output


def test_a_message_is_not_acknowledged_before_its_readings_are_committed(devices, broker):  # noqa: F811
    """A bridge killed while holding messages (received, not yet stored) loses nothing: the
    broker redelivers them to the next bridge with the same session."""
    device, secret = devices["MQ-A"]
    start = timezone.now().replace(microsecond=0) - timedelta(minutes=30)
    slow = BridgeProcess(broker.port, "bridge-session-1", "--batch-ms", "60000", "--batch-messages", "100000")
    client = device_client(broker, "MQ-A", secret)
    for m in range(20):
        publish(client, "devices/MQ-A/telemetry", [reading(start + timedelta(seconds=m * 10 + i), m)
                                                   for i in range(10)])
    time.sleep(1.0)  # delivered to the slow bridge, which holds them for its 60 s batch
    assert stored_readings(device) == []
    slow.kill()

    again = BridgeProcess(broker.port, "bridge-session-1")
    try:
        assert wait_until(lambda: len(stored_readings(device)) == 200, timeout=90)  # a loaded CI machine
        time.sleep(0.5)
        assert len(stored_readings(device)) == 200
    finally:
        client.loop_stop()
        again.stop()


def test_two_bridges_of_a_group_split_the_load_and_lose_nothing_when_one_is_killed(devices, broker):  # noqa: F811
    """A consumer group (MQTT shared subscription): two bridges share the stream; one is
    killed mid-stream (SIGKILL) and restarted with its session: every reading is stored
    exactly once, and each bridge stored part of the stream."""
    device, secret = devices["MQ-A"]
    start = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    one = BridgeProcess(broker.port, "group-bridge-1", "--group", "bridges")
    two = BridgeProcess(broker.port, "group-bridge-2", "--group", "bridges")
    client = device_client(broker, "MQ-A", secret, client_id="mq-a-group", clean_session=False)
    messages, published = 600, []

    def stream():
        for m in range(messages):
            payload = [reading(start + timedelta(seconds=m * 5 + i), float(m)) for i in range(5)]
            published.append(client.publish("devices/MQ-A/telemetry", json.dumps(payload), qos=1))
            time.sleep(0.003)

    thread = threading.Thread(target=stream)
    try:
        thread.start()
        assert wait_until(lambda: len(published) > messages // 3, timeout=30, interval=0.01)
        two.kill()  # mid-stream: what it held unacknowledged stays with its session
        thread.join(60)
        two = BridgeProcess(broker.port, "group-bridge-2", "--group", "bridges")
        assert wait_until(lambda: len(stored_readings(device)) >= messages * 5, timeout=90)
        time.sleep(1)
        rows = stored_readings(device)
        assert len(rows) == messages * 5
        assert [r[2] for r in rows] == [start + timedelta(seconds=s) for s in range(messages * 5)]
    finally:
        client.loop_stop()
        first, second = one.stop(), two.stop()
    handled = [int(re.search(r"stopped: (\d+) messages", out).group(1)) for out in (first, second)]
    # the survivor got part of the stream, not all of it; the restarted one got its share
    assert 0 < handled[0] < messages and handled[1] > 0, handled


def test_a_connection_lost_inside_psycopg_is_retried_not_dead_lettered(world):
    """The ingest's COPY runs on psycopg's own cursor; a PostgreSQL crash there raised
    psycopg.OperationalError, which the bridge took for a poison message: it dead-lettered and
    acknowledged it (or only acknowledged it, with the database still away), so the readings
    were lost. Any connection failure keeps the message and retries it."""
    import psycopg

    from iot.bridges.mqtt_bridge import MqttBridge, Received

    device, _ = make_device("MQ-R", kind="meter", plant=world.a.plant)
    now = timezone.now().replace(microsecond=0)

    class CrashOnce(MqttBridge):
        crashes = 1

        def process(self, batch):
            if self.crashes:
                self.crashes -= 1
                raise psycopg.OperationalError("consuming input failed: server closed the connection")
            super().process(batch)

    in_process = CrashOnce(port=1, client_id="crash-once", workers=1)
    body = json.dumps([reading(now, 5)]).encode()
    in_process._process_until_stored([Received(1, 1, "devices/MQ-R/telemetry", body, 0, time.monotonic())])

    assert stored_readings(device) == [("MQ-R", "power_w", now, 5.0)]
    assert not DeadLetter.objects.exists()
    assert in_process.stats.db_failures == 1 and in_process.stats.dead_letters == 0
