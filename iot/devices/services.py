"""Writes of the device registry: one function per business action.

A device's community is derived, never chosen freely: from its plant, else from its
metering point's membership; only a device with neither (a community weather station) names
its community directly. The secret is returned once by `device_create` and
`device_rotate_secret` and stored only as hashes (`Device.secret_hash`, and Mosquitto's
`mqtt_password_hash` for the broker).
"""

import logging

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from core.exceptions import Conflict, Forbidden, Invalid
from iot.bridges.mqtt_auth import SERIAL_RE, auth_files_write, mosquitto_hash, serial_reserved
from iot.models import Device, hash_secret, new_secret

logger = logging.getLogger("commonwatt.iot.devices")

EDITABLE = ("name", "kind", "protocol", "plant", "metering_point", "community", "connection",
            "poll_interval_s", "expected_interval_s", "is_active")


def _derive_community(*, plant, metering_point, community):
    derived = []
    if plant is not None and plant.community_id is not None:
        derived.append(plant.community)
    if metering_point is not None:
        derived.append(metering_point.membership.community)
    ids = {c.id for c in derived}
    if len(ids) > 1:
        raise Invalid(gettext("The plant and the metering point belong to different communities."),
                      details={"metering_point": ["Not in the plant's community."]})
    if derived:
        if community is not None and community.id not in ids:
            raise Invalid(gettext("The community must be the plant's / metering point's community."),
                          details={"community": ["Does not match the plant or metering point."]})
        return derived[0]
    return community


def _check_scope(user, community) -> None:
    """Staff may attach devices only inside the communities they manage."""
    if user is None or user.is_platform_admin:
        return
    from communities.models import Community

    if community is None or not Community.objects.managed_by(user).filter(pk=community.pk).exists():
        raise Forbidden(gettext("You can only register devices in communities you manage."))


def device_scope_check(*, user, plant=None, metering_point=None, community=None):
    """The community a device with these links belongs to, if `user` may place it there;
    raises Invalid (inconsistent links) or Forbidden (out of the user's communities)."""
    community = _derive_community(plant=plant, metering_point=metering_point, community=community)
    _check_scope(user, community)
    return community


def _broker_sync_later() -> None:
    """After the commit, rewrite the broker's password/ACL files and reload the project's
    Mosquitto (MQTT_AUTO_SYNC_AUTH; otherwise operators run `manage.py mqtt_sync_auth`)."""
    if settings.MQTT_AUTO_SYNC_AUTH:
        # robust: a broker that cannot be reloaded is logged, never turns the committed
        # change into an error (operators still have `manage.py mqtt_sync_auth`).
        transaction.on_commit(lambda: auth_files_write(pid_file=settings.MQTT_AUTH_DIR / "mosquitto.pid"),
                              robust=True)


def _issue_secret(device: Device) -> str:
    secret = new_secret()
    device.secret_hash = hash_secret(secret)
    device.mqtt_password_hash = mosquitto_hash(secret)
    device.secret_rotated_at = timezone.now()
    return secret


@transaction.atomic
def device_create(*, user=None, serial: str, kind: str, protocol: str = "mqtt", name: str = "",
                  plant=None, metering_point=None, community=None, connection_settings: dict | None = None,
                  poll_interval_s: int = 60, expected_interval_s: int = 60, is_active: bool = True
                  ) -> tuple[Device, str]:
    """Register a device; returns it with its secret (shown once, never stored in clear)."""
    if not SERIAL_RE.match(serial or ""):
        raise Invalid(gettext("A serial is 1-64 letters, digits, '.', '-' or '_'."),
                      details={"serial": ["Invalid."]})
    if serial_reserved(serial):
        # It is the broker username of the bridge or the simulator: a device with it would
        # put a second line for that user in Mosquitto's password file.
        raise Invalid(gettext("This serial is reserved."), details={"serial": ["Reserved for the platform."]})
    already = Conflict("A device with this serial already exists.",
                       details={"serial": ["Already registered."]})
    if Device.objects.filter(serial=serial).exists():
        raise already
    community = _derive_community(plant=plant, metering_point=metering_point, community=community)
    _check_scope(user, community)
    device = Device(serial=serial, kind=kind, protocol=protocol, name=name, plant=plant,
                    metering_point=metering_point, community=community,
                    connection=connection_settings or {}, poll_interval_s=poll_interval_s,
                    expected_interval_s=expected_interval_s, is_active=is_active)
    secret = _issue_secret(device)
    device.full_clean(validate_unique=False)  # the unique index decides, race-free (below)
    try:
        with transaction.atomic():
            device.save()
    except IntegrityError as exc:  # a concurrent registration of the same serial won
        if Device.objects.filter(serial=serial).exists():
            raise already from exc
        raise
    _broker_sync_later()
    return device, secret


@transaction.atomic
def device_update(*, device: Device, user=None, **changes) -> Device:
    """Change editable fields; the community is re-derived when plant/metering point move."""
    if "connection_settings" in changes:
        changes["connection"] = changes.pop("connection_settings")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise Invalid(gettext("Not editable: %(fields)s.") % {"fields": ", ".join(sorted(unknown))})
    for name, value in changes.items():
        setattr(device, name, value)
    device.community = _derive_community(plant=device.plant, metering_point=device.metering_point,
                                         community=changes.get("community", device.community))
    _check_scope(user, device.community)
    device.full_clean()
    device.save()
    if "is_active" in changes:
        _broker_sync_later()
    return device


@transaction.atomic
def device_rotate_secret(*, device: Device) -> str:
    """Issue a new secret; the old one stops working at once (HTTP) and at the next
    `mqtt_sync_auth` (MQTT)."""
    secret = _issue_secret(device)
    device.save(update_fields=["secret_hash", "mqtt_password_hash", "secret_rotated_at", "updated_at"])
    _broker_sync_later()
    return secret


@transaction.atomic
def device_delete(*, device: Device) -> None:
    """Delete a device with its readings (iot_reading has no foreign key to cascade)."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM iot_reading WHERE device_id = %s", [device.pk])
    device.delete()


def device_authenticate(*, serial: str, secret: str) -> Device | None:
    """The active device with this serial and secret, else None (same answer for an unknown
    serial and a wrong secret)."""
    device = Device.objects.filter(serial=serial, is_active=True).first() if serial else None
    if device is None or not device.check_secret(secret):
        return None
    return device
