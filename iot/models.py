"""Devices, the metric catalogue and the time-series store.

Readings live in `iot_reading`, a table range-partitioned by month and created by raw SQL
(migration 0002): `(device_id bigint, metric_id int, ts timestamptz, value double precision)`,
primary key `(device_id, metric_id, ts)`, which serves "one device, one metric, a time range".
It has no foreign keys on purpose: a per-row referential check would halve the bulk load
rate, and every row comes through `iot.ingest.service.ingest`, which only writes known
devices and metrics. Devices are deactivated, not deleted (`device_delete` removes readings
first). `Reading` below maps the table for reads; writes go through the ingest service only.
"""

import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from core.scoping import ScopedQuerySet


class Metric(models.Model):
    """A measured quantity with its unit and plausible range (the catalogue).

    Readings outside `[min_value, max_value]` are rejected to the dead-letter table.
    `is_cumulative` marks counters (kWh registers): stored as read, differenced for
    interval energy (`iot.ingest.energy.interval_energy`).
    """

    id = models.AutoField(primary_key=True)  # int: iot_reading.metric_id is an int column
    code = models.SlugField(max_length=64, unique=True, help_text="e.g. power_w, energy_import_kwh")
    name = models.CharField(max_length=200)
    unit = models.CharField(max_length=32, help_text="W, kWh, V, A, %, °C, W/m², count ...")
    min_value = models.FloatField(null=True, blank=True, help_text="Lowest plausible value.")
    max_value = models.FloatField(null=True, blank=True, help_text="Highest plausible value.")
    is_cumulative = models.BooleanField(default=False, help_text="A counter that only grows (resets aside).")
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_value__isnull=True) | Q(max_value__isnull=True)
                | Q(max_value__gte=models.F("min_value")),
                name="metric_range_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} [{self.unit}]"


class DeviceKind(models.TextChoices):
    METER = "meter", "Meter"
    INVERTER = "inverter", "Inverter"
    BATTERY = "battery", "Battery"
    WEATHER = "weather", "Weather station"
    SENSOR = "sensor", "Sensor"


class Protocol(models.TextChoices):
    HTTP = "http", "HTTP push"
    MQTT = "mqtt", "MQTT"
    MODBUS = "modbus", "Modbus TCP"
    OPCUA = "opcua", "OPC UA"
    IEC61850 = "iec61850", "IEC 61850 (MMS)"
    DNP3 = "dnp3", "DNP3"


class DeviceStatus(models.TextChoices):
    ONLINE = "online", "Online"
    OFFLINE = "offline", "Offline"
    ERROR = "error", "Error"


class DeviceQuerySet(ScopedQuerySet):
    """Same tenancy as plants: vendors their organization's communities, referents the
    communities they manage, members the devices on their own plants and metering points
    (plus community-wide devices without plant or metering point, e.g. a weather station)."""

    def _scope(self, user):
        if user.role == Role.VENDOR:
            return self.filter(community__organization_id=user.organization_id)
        own = Q(plant__owner=user) | Q(metering_point__membership__user=user)
        if user.role == Role.REFERENT:
            return self.filter(own | Q(community__referents=user)).distinct()
        shared = Q(
            plant__isnull=True, metering_point__isnull=True,
            community__memberships__user=user, community__memberships__left_at__isnull=True,
        )
        return self.filter(own | shared).distinct()

    def _manage_scope(self, user):
        """Devices the user may change: staff within their communities (members read only)."""
        if user.role == Role.VENDOR:
            return self.filter(community__organization_id=user.organization_id)
        if user.role == Role.REFERENT:
            return self.filter(community__referents=user)
        return self.none()


def hash_secret(secret: str) -> str:
    """sha256 of a device secret: the secret is a 256-bit random token, so a fast hash is
    safe (no dictionary to attack) and keeps per-request authentication cheap."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class Device(models.Model):
    """A physical device that reports readings, directly (HTTP, MQTT) or polled."""

    name = models.CharField(max_length=200, blank=True)
    serial = models.CharField(
        max_length=64, unique=True,
        help_text="Unique id; also the MQTT username and topic segment (letters, digits, - _ .).",
    )
    kind = models.CharField(max_length=16, choices=DeviceKind.choices)
    protocol = models.CharField(max_length=16, choices=Protocol.choices, default=Protocol.MQTT)
    plant = models.ForeignKey(
        "plants.Plant", on_delete=models.PROTECT, null=True, blank=True, related_name="devices"
    )
    metering_point = models.ForeignKey(
        "communities.MeteringPoint", on_delete=models.PROTECT, null=True, blank=True,
        related_name="devices",
    )
    # Derived by the device services from the plant, else the metering point's membership;
    # set directly only for community-wide devices (weather station). Stored so scoping and
    # live fan-out need no join.
    community = models.ForeignKey(
        "communities.Community", on_delete=models.PROTECT, null=True, blank=True,
        related_name="devices",
    )
    connection = models.JSONField(
        default=dict, blank=True,
        help_text="Protocol settings: host, port, unit_id, register_map, node_ids, ...",
    )
    poll_interval_s = models.PositiveIntegerField(default=60, help_text="For polled protocols.")
    expected_interval_s = models.PositiveIntegerField(
        default=60, help_text="How often readings are expected; drives online/offline."
    )
    secret_hash = models.CharField(max_length=64, blank=True, editable=False)
    # Mosquitto's own PBKDF2-SHA512 hash ($7$) of the same secret, for its password file.
    mqtt_password_hash = models.CharField(max_length=200, blank=True, editable=False)
    secret_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    is_active = models.BooleanField(default=True)
    last_seen = models.DateTimeField(null=True, blank=True, help_text="Last accepted data.")
    last_error = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DeviceQuerySet.as_manager()

    class Meta:
        ordering = ["serial"]
        indexes = [
            # pollers: active devices of one protocol
            models.Index(fields=["protocol", "is_active"]),
            # offline detection: oldest last_seen first
            models.Index(fields=["last_seen"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(expected_interval_s__gt=0), name="device_expected_interval_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.serial

    def check_secret(self, secret: str) -> bool:
        return bool(self.secret_hash) and hmac.compare_digest(self.secret_hash, hash_secret(secret or ""))

    def offline_after(self) -> timedelta:
        return timedelta(seconds=self.expected_interval_s * settings.IOT_OFFLINE_AFTER_INTERVALS)

    def is_online(self, now=None) -> bool:
        now = now or timezone.now()
        return self.last_seen is not None and now - self.last_seen <= self.offline_after()

    @property
    def status(self) -> str:
        """error: the last contact failed (rejected data, poll error) and nothing good came
        since; online: data within `IOT_OFFLINE_AFTER_INTERVALS` expected intervals;
        otherwise offline (also for a device never heard from)."""
        if self.last_error_at and (self.last_seen is None or self.last_error_at > self.last_seen):
            return DeviceStatus.ERROR
        return DeviceStatus.ONLINE if self.is_online() else DeviceStatus.OFFLINE

    @property
    def topic_prefix(self) -> str:
        return f"devices/{self.serial}"


class Reading(models.Model):
    """One value of one metric of one device at one instant (read-only mapping)."""

    pk = models.CompositePrimaryKey("device_id", "metric_id", "ts")
    device = models.ForeignKey(Device, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    metric = models.ForeignKey(Metric, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    ts = models.DateTimeField()
    value = models.FloatField()

    class Meta:
        # Created by raw SQL (migration 0002, partitioned); managed so test flushes truncate it.
        db_table = "iot_reading"
        ordering = ["device_id", "metric_id", "ts"]

    def __str__(self) -> str:
        return f"{self.device_id}/{self.metric_id}@{self.ts.isoformat()}={self.value}"


class DeadLetterSource(models.TextChoices):
    HTTP = "http", "HTTP"
    MQTT = "mqtt", "MQTT"
    MODBUS = "modbus", "Modbus TCP"
    OPCUA = "opcua", "OPC UA"
    IEC61850 = "iec61850", "IEC 61850"
    DNP3 = "dnp3", "DNP3"
    SIMULATOR = "simulator", "Simulator"
    IMPORT = "import", "CSV import"
    OTHER = "other", "Other"


class DeadLetterQuerySet(ScopedQuerySet):
    def _scope(self, user):
        return self.filter(device__in=Device.objects.managed_by(user))


class DeadLetter(models.Model):
    """A payload or reading that was refused, kept with the reason (never silently dropped)."""

    device = models.ForeignKey(
        Device, on_delete=models.SET_NULL, null=True, blank=True, related_name="dead_letters"
    )
    serial = models.CharField(max_length=64, blank=True, help_text="The serial the sender claimed.")
    source = models.CharField(max_length=16, choices=DeadLetterSource.choices)
    topic = models.CharField(max_length=300, blank=True)
    raw = models.TextField(help_text="The refused item or payload, as received (JSON when it parsed).")
    reason = models.CharField(max_length=500)
    received_at = models.DateTimeField(default=timezone.now)

    objects = DeadLetterQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            # admin list and purges: newest first, per device
            models.Index(fields=["device", "-received_at"]),
            models.Index(fields=["-received_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.serial or '?'}: {self.reason}"


class CommandStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    FAILED = "failed", "Failed"


class DeviceCommandQuerySet(ScopedQuerySet):
    def _scope(self, user):
        return self.filter(device__in=Device.objects.visible_to(user))


class DeviceCommand(models.Model):
    """A command sent to a device on `devices/<serial>/commands`, acknowledged by the device
    on `devices/<serial>/commands/ack` with `{"id": "<command_id>", "status": "ok"|"error"}`."""

    command_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="commands")
    command = models.CharField(max_length=64, help_text="e.g. set_power_limit, reboot, set_mode")
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=CommandStatus.choices, default=CommandStatus.PENDING)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    acked_at = models.DateTimeField(null=True, blank=True)
    response = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=500, blank=True)

    objects = DeviceCommandQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # a device's command history, newest first
            models.Index(fields=["device", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.command} -> {self.device_id} ({self.status})"



class AlertKind(models.TextChoices):
    OFFLINE = "offline", _("Device offline")
    BACK_ONLINE = "back_online", _("Device back online")


class AlertQuerySet(ScopedQuerySet):
    def _scope(self, user):
        return self.filter(device__in=Device.objects.visible_to(user))

    def open(self):
        return self.filter(closed_at__isnull=True)


class Alert(models.Model):
    """One outage of a device (kind offline, open until data comes back) or the recovery
    that ended it (kind back_online, opened and closed at the instant data came back)."""

    device = models.ForeignKey("iot.Device", on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=16, choices=AlertKind.choices)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(
        null=True, blank=True, help_text="The device's last data when the alert was raised."
    )
    message = models.CharField(max_length=300)
    notified_at = models.DateTimeField(null=True, blank=True, help_text="When referents were emailed.")

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            # once per outage: at most one open offline alert per device
            models.UniqueConstraint(
                fields=["device"], condition=Q(kind="offline", closed_at__isnull=True),
                name="iot_alert_one_open_outage",
            ),
        ]
        indexes = [
            # a device's alert history and the recent-activity feed, newest first
            models.Index(fields=["device", "-opened_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.device_id} at {self.opened_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None
