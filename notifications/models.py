"""Notifications: one row per thing a user is told (the in-app centre), one outbox row per
(notification, external channel) that Celery sends once, the user's choices per kind and
channel, quiet hours, and the browsers subscribed to web push."""

from zoneinfo import available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.scoping import ScopedQuerySet


class NotificationKind(models.TextChoices):
    DEVICE_OFFLINE = "device_offline", _("Device offline")
    GREEN_WINDOW = "green_window", _("Green windows")
    STATEMENT_READY = "statement_ready", _("Statement ready")
    WALLET_MOVEMENT = "wallet_movement", _("Wallet movements")
    SETTLEMENT_APPROVAL = "settlement_approval", _("Settlement awaiting approval")
    BATTERY_SCHEDULE = "battery_schedule", _("Battery schedule")
    SYSTEM = "system", _("System")


class Channel(models.TextChoices):
    IN_APP = "in_app", _("In the portal")
    EMAIL = "email", _("Email")
    PUSH = "push", _("Web push")
    SMS = "sms", _("SMS")


EXTERNAL_CHANNELS = (Channel.EMAIL, Channel.PUSH, Channel.SMS)


class OwnedQuerySet(ScopedQuerySet):
    """Notifications, subscriptions and preferences are the user's own: nobody else sees
    them, not even staff (the admin reads them through the back office)."""

    def visible_to(self, user):
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        return self.filter(user=user)

    def managed_by(self, user):
        return self.visible_to(user)


class Notification(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="notifications")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    # the same (user, key) never notifies twice: a retried caller finds the first row
    dedup_key = models.CharField(max_length=200, blank=True)
    urgent = models.BooleanField(default=False, help_text="Sent during quiet hours too.")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = OwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "dedup_key"], condition=~Q(dedup_key=""),
                                    name="notification_user_dedup_key_unique"),
        ]
        indexes = [
            # the centre's list and the unread badge: a user's notifications, newest first
            models.Index(fields=["user", "-created_at"], name="notification_user_created"),
            models.Index(fields=["user"], condition=Q(read_at__isnull=True),
                         name="notification_user_unread"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.title}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    UNKNOWN = "unknown", _("Outcome unknown")
    SKIPPED = "skipped", _("Skipped")


class DeliveryQuerySet(ScopedQuerySet):
    """The outbox is the operators' (admins: everything, via the guard); nobody else's."""

    def _scope(self, user):
        return self.none()


class Delivery(models.Model):
    """The outbox row of one notification on one external channel.

    pending -> sending (claimed under a row lock and committed before the provider is
    called) -> sent | pending again (the provider refused: retried with backoff) | failed
    (attempts exhausted) | unknown (the worker died or the call timed out after the
    request left: never sent again, at most once)."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    # quiet hours and backoff: not sent before this instant
    not_before = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_ref = models.CharField(max_length=200, blank=True,
                                    help_text="The provider's id for the message (e.g. Twilio's SID).")
    provider_status = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel"], name="delivery_one_per_channel"),
        ]
        indexes = [
            # the sweep: pending rows that are due, and sending rows left by a dead worker
            models.Index(fields=["status", "not_before"], name="delivery_status_due"),
        ]
        verbose_name_plural = "deliveries"

    def __str__(self):
        return f"{self.notification_id}/{self.channel}: {self.status}"


class Preference(models.Model):
    """A user's choice for one kind on one channel; absent rows take `DEFAULTS`."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="notification_preferences")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    enabled = models.BooleanField()

    objects = OwnedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "channel"], name="preference_unique"),
        ]

    def __str__(self):
        return f"{self.kind}/{self.channel}: {'on' if self.enabled else 'off'}"


def validate_time_zone(value: str) -> None:
    if value and value not in available_timezones():
        raise ValidationError(_("Unknown time zone."), code="time_zone")


validate_e164 = RegexValidator(r"^\+[1-9]\d{6,14}$",
                               _("Enter a phone number in E.164 form, e.g. +393331234567."),
                               code="phone_e164")


class UserSettings(models.Model):
    """Quiet hours and the SMS number. Without a time zone, the user's community's (or
    NOTIFICATIONS_DEFAULT_TIME_ZONE) is used."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="notification_settings")
    quiet_start = models.TimeField(null=True, blank=True, help_text="Local time quiet hours start.")
    quiet_end = models.TimeField(null=True, blank=True, help_text="Local time quiet hours end.")
    time_zone = models.CharField(max_length=64, blank=True, validators=[validate_time_zone])
    phone_e164 = models.CharField(max_length=16, blank=True, validators=[validate_e164],
                                  help_text="For SMS, in E.164 form (+393331234567).")

    objects = OwnedQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "user settings"

    def __str__(self):
        return f"notification settings of user {self.user_id}"


class PushSubscription(models.Model):
    """One browser's web push subscription (the PushSubscription JSON of the Push API)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="push_subscriptions")
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    failures = models.PositiveIntegerField(default=0)

    objects = OwnedQuerySet.as_manager()

    def __str__(self):
        return self.endpoint[:80]
