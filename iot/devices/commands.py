"""Device commands: recorded, published on `devices/<serial>/commands` after the commit, and
acknowledged by the device on `devices/<serial>/commands/ack` (consumed by the MQTT bridge).

Message to the device: `{"id": "<command uuid>", "command": "set_power_limit", "payload": {...}}`.
Acknowledgement from the device: `{"id": "<command uuid>", "status": "ok" | "error",
"result": {...}, "error": "..."}`. A command left without one for IOT_COMMAND_ACK_TIMEOUT_S
fails (beat task, every minute); an acknowledgement arriving later still records it.
"""

import json
import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.exceptions import Conflict
from iot.bridges.mqtt_auth import COMMANDS_TOPIC
from iot.bridges.mqtt_client import MqttUnavailable, publish_once
from iot.ingest.payload import PayloadError, parse_json
from iot.models import CommandStatus, Device, DeviceCommand

logger = logging.getLogger("commonwatt.iot.commands")


def device_command_send(*, device: Device, command: str, payload: dict | None = None, user=None
                        ) -> DeviceCommand:
    """Record a command and publish it once the row is committed (so an acknowledgement can
    never arrive before the command exists). Returns the command, refreshed: `sent`, or
    `failed` with the reason when the broker could not take it."""
    if not device.is_active:
        raise Conflict(gettext("The device is inactive."))
    with transaction.atomic():
        cmd = DeviceCommand.objects.create(device=device, command=command, payload=payload or {},
                                           created_by=user)
        transaction.on_commit(lambda: device_command_publish(command=cmd))
    cmd.refresh_from_db()
    return cmd


def device_command_publish(*, command: DeviceCommand) -> None:
    message = json.dumps({"id": str(command.command_id), "command": command.command,
                          "payload": command.payload})
    topic = COMMANDS_TOPIC.format(serial=command.device.serial)
    try:
        publish_once(topic, message, qos=1)
    except MqttUnavailable as exc:
        logger.warning("command %s not sent: %s", command.command_id, exc)
        DeviceCommand.objects.filter(pk=command.pk).update(status=CommandStatus.FAILED, error=str(exc)[:500])
        return
    DeviceCommand.objects.filter(pk=command.pk, status=CommandStatus.PENDING).update(
        status=CommandStatus.SENT, sent_at=timezone.now())


class AckRefused(ValueError):
    """An acknowledgement that cannot be applied (malformed, or not a command of this
    device); the message is the reason kept in the dead letter."""


def device_command_ack(*, serial: str, payload: bytes | str) -> DeviceCommand:
    """Apply an acknowledgement received on `devices/<serial>/commands/ack`. Returns the
    command; raises AckRefused (reason) when the payload is malformed, out of bounds
    (`parse_json`: size, nesting) or names no command of this device."""
    try:
        body = parse_json(payload)
    except PayloadError as exc:
        raise AckRefused(str(exc)) from None
    if not isinstance(body, dict):
        raise AckRefused('an acknowledgement is an object {"id": ..., "status": ...}')
    try:
        command_id = uuid.UUID(body["id"]) if isinstance(body.get("id"), str) else None
    except ValueError:
        command_id = None
    if command_id is None:
        raise AckRefused('"id" must be the command\'s uuid')
    status = body.get("status", "ok")
    ok = isinstance(status, str) and status.lower() in ("ok", "done", "success", "acknowledged")
    with transaction.atomic():
        cmd = (DeviceCommand.objects.select_for_update()
               .filter(command_id=command_id, device__serial=serial).first())
        if cmd is None:
            logger.warning("ack from %s for unknown command %s", serial, command_id)
            raise AckRefused(f"no command {command_id} for device {serial!r}")
        cmd.status = CommandStatus.ACKNOWLEDGED if ok else CommandStatus.FAILED
        cmd.acked_at = timezone.now()
        result = body.get("result")
        cmd.response = result if isinstance(result, dict) else {"result": result}
        cmd.error = "" if ok else str(body.get("error") or "device reported an error")[:500]
        cmd.save(update_fields=["status", "acked_at", "response", "error"])
    return cmd


def device_commands_expire(*, timeout_s: int | None = None) -> int:
    """Fail the commands (pending or sent) that have waited longer than `timeout_s`
    (default IOT_COMMAND_ACK_TIMEOUT_S) for an acknowledgement; returns how many."""
    timeout_s = settings.IOT_COMMAND_ACK_TIMEOUT_S if timeout_s is None else timeout_s
    cutoff = timezone.now() - timedelta(seconds=timeout_s)
    expired = DeviceCommand.objects.filter(
        status__in=[CommandStatus.PENDING, CommandStatus.SENT], created_at__lt=cutoff
    ).update(status=CommandStatus.FAILED, error=f"No acknowledgement within {timeout_s} s.")
    if expired:
        logger.warning("%d command(s) expired without acknowledgement", expired)
    return expired
