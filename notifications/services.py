"""Writes: `notify` (the one way anything tells a user something), reading, preferences,
push subscriptions.

`notify` stores the in-app notification and, in the same transaction, one outbox row
(`Delivery`) per external channel the user chose for the kind; after the commit it pushes
the item and the unread count to the user's websocket group and queues the due deliveries
on Celery (notifications.outbox sends them, once). Quiet hours defer non-urgent deliveries
to their end; they are never dropped.
"""

import logging
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exceptions import Invalid
from core.scoping import get_visible
from notifications.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationKind,
    Preference,
    PushSubscription,
    UserSettings,
)
from notifications.preferences import preference_matrix, quiet_hours_end, user_settings

logger = logging.getLogger("commonwatt.notifications")


def notify(*, user, kind: str, title: str, body: str, url: str = "", data: dict | None = None,
           dedup_key: str = "", urgent: bool = False) -> Notification:
    """Tell `user` something: stored in-app, sent on the channels they chose for `kind`.

    `dedup_key`: the same key for the same user never notifies twice; the first
    notification is returned. `urgent`: sent during quiet hours too. Call it inside the
    transaction of the change it reports: nothing leaves before the commit."""
    if kind not in NotificationKind.values:
        raise Invalid(_("Unknown notification kind."), details={"kind": kind})
    dedup_key = dedup_key[:200]
    with transaction.atomic():
        if dedup_key:
            existing = Notification.objects.filter(user=user, dedup_key=dedup_key).first()
            if existing is not None:
                return existing
        try:
            with transaction.atomic():
                notification = Notification.objects.create(
                    user=user, kind=kind, title=title[:200], body=body, url=url[:500],
                    data=data or {}, dedup_key=dedup_key, urgent=urgent)
        except IntegrityError:  # the same key, notified concurrently
            return Notification.objects.get(user=user, dedup_key=dedup_key)
        deliveries = _deliveries_create(notification)
    transaction.on_commit(lambda: _after_commit(notification, deliveries), robust=True)
    return notification


def _channels_for(user, kind: str, row: UserSettings) -> list[str]:
    chosen = preference_matrix(user=user)[kind]
    out = []
    if chosen[Channel.EMAIL] and user.email:
        out.append(Channel.EMAIL)
    if chosen[Channel.PUSH] and PushSubscription.objects.filter(user=user).exists():
        out.append(Channel.PUSH)
    if chosen[Channel.SMS] and row.phone_e164:
        out.append(Channel.SMS)
    return out


def _deliveries_create(notification: Notification) -> list[Delivery]:
    user = notification.user
    if not user.is_active:
        return []
    row = user_settings(user)
    now = timezone.now()
    not_before = None if notification.urgent else quiet_hours_end(user=user, at=now, row=row)
    return Delivery.objects.bulk_create([
        Delivery(notification=notification, channel=channel, not_before=not_before or now)
        for channel in _channels_for(user, notification.kind, row)
    ])


def _after_commit(notification: Notification, deliveries: list[Delivery]) -> None:
    from notifications.live import live_notification_created
    from notifications.outbox import delivery_enqueue

    live_notification_created(notification)
    for delivery in deliveries:
        delivery_enqueue(delivery_id=delivery.pk, eta=delivery.not_before)


def notification_mark_read(*, user, notification_id: int) -> Notification:
    """Mark one of the user's own notifications read (someone else's: NotFound)."""
    notification = get_visible(Notification.objects, user, pk=notification_id)
    if notification.read_at is None:
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=timezone.now())
        notification.refresh_from_db(fields=["read_at"])
        transaction.on_commit(lambda: _count_changed(user.pk))
    return notification


def notifications_mark_all_read(*, user) -> int:
    """Mark all the user's unread notifications read; returns how many."""
    count = Notification.objects.visible_to(user).filter(read_at__isnull=True).update(read_at=timezone.now())
    if count:
        transaction.on_commit(lambda: _count_changed(user.pk))
    return count


def _count_changed(user_id: int) -> None:
    from notifications.live import live_unread_changed

    live_unread_changed(user_id)


@transaction.atomic
def preferences_update(*, user, channels: dict | None = None, quiet_start=None, quiet_end=None,
                       time_zone: str | None = None, phone_e164: str | None = None,
                       quiet_hours_given: bool = False) -> None:
    """Save the user's choices. `channels` is {kind: {channel: bool}} (in-app cannot be
    turned off); the other arguments, when given, replace the stored value."""
    for kind, by_channel in (channels or {}).items():
        if kind not in NotificationKind.values:
            raise Invalid(_("Unknown notification kind."), details={"kind": kind})
        for channel, enabled in by_channel.items():
            if channel not in Channel.values:
                raise Invalid(_("Unknown channel."), details={"channel": channel})
            if channel == Channel.IN_APP:
                if not enabled:
                    raise Invalid(_("In-portal notifications cannot be turned off."),
                                  details={"kind": kind, "channel": channel})
                continue
            Preference.objects.update_or_create(user=user, kind=kind, channel=channel,
                                                defaults={"enabled": bool(enabled)})
    row, _created = UserSettings.objects.select_for_update().get_or_create(user=user)
    if quiet_hours_given:
        if (quiet_start is None) != (quiet_end is None):
            raise Invalid(_("Quiet hours need both a start and an end."), details={"field": "quiet_hours"})
        row.quiet_start, row.quiet_end = quiet_start, quiet_end
    if time_zone is not None:
        row.time_zone = time_zone
    if phone_e164 is not None:
        row.phone_e164 = phone_e164
    try:
        row.full_clean(exclude=["user"])
    except ValidationError as exc:
        raise Invalid(_("Invalid notification settings."), details=exc.message_dict) from exc
    row.save()


def _push_endpoint_check(endpoint: str) -> None:
    """Only a known push service (WEBPUSH_ALLOWED_HOSTS, https): the server POSTs there."""
    from django.conf import settings

    parts = urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    allowed = any(host == h or host.endswith("." + h) for h in settings.WEBPUSH_ALLOWED_HOSTS)
    secure = parts.scheme == "https" or (parts.scheme == "http" and not settings.WEBPUSH_REQUIRE_HTTPS)
    if not (allowed and secure):
        raise Invalid(_("This push service is not accepted."), details={"endpoint": [endpoint[:200]]})


def push_subscription_save(*, user, endpoint: str, p256dh: str, auth: str,
                           user_agent: str = "") -> PushSubscription:
    """Subscribe this browser (its endpoint is unique: a browser that changes user moves)."""
    _push_endpoint_check(endpoint)
    subscription, _created = PushSubscription.objects.update_or_create(
        endpoint=endpoint, defaults={"user": user, "p256dh": p256dh, "auth": auth,
                                     "user_agent": user_agent[:300], "failures": 0})
    return subscription


def push_subscription_delete(*, user, endpoint: str) -> int:
    """Unsubscribe one of the user's browsers; another user's endpoint is left alone."""
    deleted, _ = PushSubscription.objects.visible_to(user).filter(endpoint=endpoint).delete()
    return deleted


def delivery_skip(delivery: Delivery, reason: str) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SKIPPED, last_error=reason[:2000])


def sms_status_record(*, message_sid: str, status: str, error_code: str = "") -> int:
    """Twilio's delivery report: the provider status of the delivery that sent the SID."""
    if not message_sid:
        return 0
    fields = {"provider_status": status[:32]}
    if error_code:
        fields["last_error"] = f"Twilio error {error_code}"[:2000]
    return Delivery.objects.filter(channel=Channel.SMS, provider_ref=message_sid).update(**fields)
