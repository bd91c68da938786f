"""paho-mqtt 2.x clients configured the project's way (callback API v2, MQTT 3.1.1)."""

import logging
import threading

import paho.mqtt.client as mqtt
from django.conf import settings

logger = logging.getLogger("commonwatt.iot.mqtt")


class MqttUnavailable(Exception):
    """The broker could not be reached or did not acknowledge in time."""


def make_client(client_id: str, *, username: str | None = None, password: str | None = None,
                clean_session: bool = True) -> mqtt.Client:
    client = mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=clean_session,
        protocol=mqtt.MQTTv311,
    )
    client.username_pw_set(username if username is not None else settings.MQTT_USERNAME,
                           password if password is not None else settings.MQTT_PASSWORD)
    return client


def publish_once(topic: str, payload: bytes | str, *, qos: int = 1, timeout_s: float = 5.0,
                 host: str | None = None, port: int | None = None, client_id: str = "") -> None:
    """Connect as the bridge account, publish one message and wait for the broker's PUBACK.
    Raises MqttUnavailable when the broker refuses, is down, or does not answer in time."""
    client = make_client(client_id)
    connected = threading.Event()
    outcome = {}

    def on_connect(client, userdata, flags, reason_code, properties):
        outcome["rc"] = reason_code
        connected.set()

    client.on_connect = on_connect
    try:
        client.connect(host or settings.MQTT_HOST, port or settings.MQTT_PORT, keepalive=30)
    except OSError as exc:
        raise MqttUnavailable(f"broker unreachable: {exc}") from exc
    client.loop_start()
    try:
        if not connected.wait(timeout_s) or outcome["rc"].is_failure:
            raise MqttUnavailable(f"broker refused the connection: {outcome.get('rc', 'timeout')}")
        info = client.publish(topic, payload, qos=qos)
        try:
            info.wait_for_publish(timeout_s)
        except (RuntimeError, ValueError) as exc:
            raise MqttUnavailable(f"publish failed: {exc}") from exc
        if not info.is_published():
            raise MqttUnavailable("broker did not acknowledge the message in time")
    finally:
        client.disconnect()
        client.loop_stop()
