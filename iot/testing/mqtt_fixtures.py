"""pytest fixtures for MQTT tests: a project Mosquitto (ports 18830-18839, devices 18860-18879) and the bridge
running as `manage.py mqtt_bridge` in a subprocess on the test database.

Import them into a test module (`from iot.testing.mqtt_fixtures import broker, bridge`);
the tests must be transactional (`django_db(transaction=True)`) so the subprocess sees the
committed rows.
"""

import contextlib
import os
import sys
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from django.conf import settings
from django.db import connection

from iot.testing.mosquitto import Broker, free_port
from iot.testing.processes import LoggedProcess

BASE_DIR = Path(settings.BASE_DIR)


@pytest.fixture
def broker(tmp_path, transactional_db):
    broker = Broker(port=free_port(18830, 18839), directory=tmp_path / "mosquitto").start()
    yield broker
    broker.stop()


class BridgeProcess(LoggedProcess):
    """`manage.py mqtt_bridge` on the test database, or with `env` (e.g.
    `iot.testing.faults.service_env`) on other services; returns once the broker acknowledged
    its subscriptions."""

    ready_marker = "bridge subscribed"  # the broker acknowledged its filters
    name = "bridge"

    def __init__(self, port: int, client_id: str, *extra_args: str, env: dict | None = None):
        if env is None:
            db = connection.settings_dict
            host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
            env = {
                **os.environ,
                "DATABASE_URL": f"postgis://{db['USER']}:{db['PASSWORD']}@{host}/{db['NAME']}",
                "PYTHONUNBUFFERED": "1",
                "DJANGO_SETTINGS_MODULE": "config.settings",
            }
            env.pop("TEST_DATABASE_NAME", None)
        self.client_id = client_id
        super().__init__([sys.executable, str(BASE_DIR / "manage.py"), "mqtt_bridge", "--client-id",
                          client_id, "--batch-ms", "20", *extra_args],
                         cwd=BASE_DIR, env={**env, "MQTT_PORT": str(port)})


@pytest.fixture
def bridge(broker):
    process = BridgeProcess(broker.port, f"test-bridge-{uuid.uuid4().hex[:8]}")
    yield process
    process.stop()


def device_client(broker, username: str, password: str, *, client_id: str | None = None,
                  clean_session: bool = True) -> mqtt.Client:
    """A connected paho client (loop running) with these credentials; raises on refusal."""
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                         client_id=client_id or f"dev-{uuid.uuid4().hex[:8]}",
                         clean_session=clean_session, protocol=mqtt.MQTTv311)
    client.username_pw_set(username, password)
    client.reconnect_delay_set(min_delay=1, max_delay=2)
    result = {}
    ready = threading.Event()

    def on_connect(client, userdata, flags, reason_code, properties):
        result["rc"] = reason_code
        ready.set()

    client.on_connect = on_connect
    client.connect("127.0.0.1", broker.device_port)  # devices use their own listener
    client.loop_start()
    if not ready.wait(10) or result["rc"].is_failure:
        client.loop_stop()
        raise ConnectionRefusedError(f"broker refused {username}: {result.get('rc')}")
    return client


def mqtt_connect(port: int, *, ca_file: Path | None = None, username: str | None = None,
                 password: str | None = None, certificate=None, timeout: float = 5.0) -> mqtt.Client:
    """A paho client connected to 127.0.0.1:`port` (loop running): over TLS trusting `ca_file`
    when given (verifying the server's name), with a password and/or a client `certificate`
    (`iot.bridges.mqtt_tls.ClientCertificate`); plain MQTT without `ca_file`. Raises
    ConnectionRefusedError when the TLS handshake fails or the broker refuses or hangs up."""
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                         client_id=f"tls-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv311)
    if ca_file is not None:
        client.tls_set(ca_certs=str(ca_file),
                       certfile=str(certificate.cert_file) if certificate else None,
                       keyfile=str(certificate.key_file) if certificate else None)
    if username is not None:
        client.username_pw_set(username, password)
    client.reconnect_delay_set(min_delay=1, max_delay=2)
    result = {}
    done = threading.Event()

    def on_connect(client, userdata, flags, reason_code, properties):
        result.setdefault("rc", reason_code)
        done.set()

    def on_disconnect(client, userdata, flags, reason_code, properties):
        result.setdefault("rc", f"disconnected ({reason_code})")
        done.set()

    client.on_connect, client.on_disconnect = on_connect, on_disconnect
    try:
        client.connect("127.0.0.1", port)
    except OSError as exc:  # ssl.SSLError included: a failed handshake
        raise ConnectionRefusedError(f"connect failed: {exc}") from exc
    client.loop_start()
    rc = result.get("rc") if done.wait(timeout) else "no answer"
    if not isinstance(rc, mqtt.ReasonCode) or rc.is_failure:
        client.loop_stop()
        raise ConnectionRefusedError(f"not connected: {rc}")
    return client


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.1):
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def publish_denied(client: mqtt.Client, topic: str, payload: str) -> None:
    """Publish where the ACL forbids it, then drop the client. Mosquitto either acknowledges
    and discards the message or closes the connection (both allowed by MQTT 3.1.1
    [MQTT-3.3.5-2]; 2.0.11 does either, eclipse-mosquitto/mosquitto#2579): the message must
    never arrive in any case."""
    info = client.publish(topic, payload, qos=1)
    with contextlib.suppress(RuntimeError):  # the broker closed the connection
        info.wait_for_publish(5)
    client.loop_stop()
