"""Models of the read side of telemetry (imported by `iot/models.py`).

The rollup tables themselves are raw SQL (see `iot/rollups/ddl.py`); the one model here is
the device alert raised by offline detection (`iot/alerts.py`).
"""

from django.db import models
from django.db.models import Q

from core.scoping import ScopedQuerySet


class AlertKind(models.TextChoices):
    OFFLINE = "offline", "Device offline"
    BACK_ONLINE = "back_online", "Device back online"


class AlertQuerySet(ScopedQuerySet):
    def _scope(self, user):
        from iot.models import Device

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


# Celery discovers `iot.tasks` only; importing the read side's beat tasks here registers them.
from iot.rollups import tasks as _beat_tasks  # noqa: E402, F401
