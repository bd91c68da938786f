"""Offline detection: one alert per outage, and an email to the community's referents.

A device is offline when its `last_seen` is older than `IOT_OFFLINE_AFTER_INTERVALS`
expected intervals (`Device.is_online`). Devices never heard from raise nothing: there is
no outage before the first reading. Run every minute by beat (`device_offline_check_task`)
and by operators with `manage.py iot_offline_check`.

Notifications are an outbox: `Alert.notified_at` is empty until the referents and the
device's owner were notified (`notifications.services.notify`, whose own outbox sends the
email / push / SMS each of them chose, retried and once). Each alert is notified after its
commit (`on_commit(robust=True)`: one failure never skips the others); whatever failed is
notified again by the beat sweep `alerts_notify_pending` (every 5 minutes, alerts up to
IOT_ALERT_NOTIFY_MAX_AGE_HOURS old). A notification is claimed before it is written, and
its dedup key is the alert, so two runs never tell anyone twice.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, DurationField, ExpressionWrapper, F, Value
from django.utils import timezone, translation
from django.utils.translation import gettext

from core.i18n import language_of
from core.mail import header_safe
from iot.models import Alert, AlertKind, Device

logger = logging.getLogger(__name__)


def _stale_before(now, device_path: str = ""):
    """Per device (row expression): the instant before which its last_seen means offline."""
    per_interval = timedelta(seconds=settings.IOT_OFFLINE_AFTER_INTERVALS)
    allowance = ExpressionWrapper(F(f"{device_path}expected_interval_s") * Value(per_interval),
                                  output_field=DurationField())
    return ExpressionWrapper(Value(now) - allowance, output_field=DateTimeField())


def _recipients(device) -> list:
    """The community's active referents and the device's owner (its plant's owner, else its
    metering point's member), each once."""
    users = []
    if device.community_id is not None:
        users += list(device.community.referents.filter(is_active=True))
    owner = None
    if device.plant_id is not None:
        owner = device.plant.owner
    elif device.metering_point_id is not None and device.metering_point.membership_id is not None:
        owner = device.metering_point.membership.user
    if owner is not None and owner.is_active:
        users.append(owner)
    return list({u.pk: u for u in users}.values())


def alert_notify(*, alert_id: int) -> bool:
    """Tell the referents of the alert's community and the device's owner, through
    `notifications.services.notify` (in-app, and the channels each chose: their outbox sends
    them, retried, once). The claim (`notified_at`) and the notifications are one
    transaction: when one fails, none is kept and the sweep runs it again; the dedup key
    (`iot-alert:<id>`) keeps a user from being told twice. Returns whether this call
    notified it (nobody to tell counts as done)."""
    from notifications.models import NotificationKind
    from notifications.services import notify

    try:
        with transaction.atomic():
            claimed = Alert.objects.filter(pk=alert_id, notified_at__isnull=True).update(
                notified_at=timezone.now())
            if not claimed:
                return False  # already notified, or being notified by another run
            alert = Alert.objects.select_related(
                "device__community", "device__plant__owner", "device__metering_point__membership__user",
            ).get(pk=alert_id)
            device = alert.device
            for user in _recipients(device):
                with translation.override(language_of(user)):  # each in their own language
                    title, body = alert_text(alert)
                notify(user=user, kind=NotificationKind.DEVICE_OFFLINE, title=title, body=body,
                       url=f"/iot/devices/{device.pk}/", dedup_key=f"iot-alert:{alert.pk}",
                       data={"device": device.pk, "alert": alert.pk, "alert_kind": alert.kind})
    except Exception:
        logger.exception("alert %s not notified; will retry", alert_id)
        raise
    return True


def alert_text(alert: Alert) -> tuple[str, str]:
    """The notification's title and body in the active language (the stored `message` stays
    the English record of the back office)."""
    device = alert.device
    if alert.kind == AlertKind.OFFLINE:
        title = gettext("%(device)s: offline") % {"device": device}
        what = gettext("%(device)s has sent no data since %(since)s UTC (expected every %(interval)s s).") % {
            "device": device, "since": f"{alert.last_seen:%Y-%m-%d %H:%M}" if alert.last_seen else "-",
            "interval": device.expected_interval_s}
    else:
        title = gettext("%(device)s: back online") % {"device": device}
        what = gettext("%(device)s is sending data again.") % {"device": device}
    body = "\n".join([
        what, "",
        gettext("Device: %(device)s (serial %(serial)s)") % {"device": device, "serial": device.serial},
        gettext("Community: %(community)s") % {"community": device.community},
        gettext("Last data: %(when)s") % {
            "when": f"{device.last_seen:%Y-%m-%d %H:%M} UTC" if device.last_seen else gettext("never")},
    ])
    return header_safe(title), body


def alerts_notify_pending(*, max_age_hours: int | None = None) -> dict:
    """Notify the alerts whose notification failed or never ran (the outbox sweep, beat).
    One failure does not stop the others; returns the counts."""
    hours = settings.IOT_ALERT_NOTIFY_MAX_AGE_HOURS if max_age_hours is None else max_age_hours
    since = timezone.now() - timedelta(hours=hours)
    pending = Alert.objects.filter(notified_at__isnull=True, opened_at__gte=since).order_by("opened_at")
    sent = failed = 0
    for alert_id in pending.values_list("pk", flat=True)[:500]:
        try:
            sent += alert_notify(alert_id=alert_id)
        except Exception:  # logged by alert_notify; the next sweep tries again
            failed += 1
    return {"sent": sent, "failed": failed}


def _notify_after_commit(alert_id: int) -> None:
    # robust: a failing notification is logged and never skips the other on-commit callbacks
    transaction.on_commit(lambda: alert_notify(alert_id=alert_id), robust=True)


def _open_outage(device, now) -> Alert | None:
    message = (f"{device} has sent no data since {device.last_seen:%Y-%m-%d %H:%M} UTC "
               f"(expected every {device.expected_interval_s} s).")
    try:
        with transaction.atomic():
            alert = Alert.objects.create(device=device, kind=AlertKind.OFFLINE, opened_at=now,
                                         last_seen=device.last_seen, message=message)
    except IntegrityError:  # a concurrent run opened it first: still one alert per outage
        return None
    _notify_after_commit(alert.pk)
    return alert


def _close_outage(outage: Alert, now) -> Alert:
    device = outage.device
    back_at = device.last_seen or now
    outage.closed_at = back_at
    outage.save(update_fields=["closed_at"])
    down = back_at - outage.last_seen if outage.last_seen else None
    message = f"{device} is sending data again" + (f" after {down}." if down else ".")
    alert = Alert.objects.create(device=device, kind=AlertKind.BACK_ONLINE, opened_at=back_at,
                                 closed_at=back_at, last_seen=device.last_seen, message=message)
    _notify_after_commit(alert.pk)
    return alert


@transaction.atomic
def device_offline_check(*, now=None) -> dict:
    """Open an offline alert for each device that went silent, close the alerts of the
    devices that came back (with a back_online alert). Returns the counts."""
    now = now or timezone.now()
    stale = _stale_before(now)
    silent = (Device.objects.filter(is_active=True, last_seen__isnull=False, last_seen__lt=stale)
              .exclude(pk__in=Alert.objects.open().filter(kind=AlertKind.OFFLINE).values("device_id"))
              .select_related("community"))
    opened = sum(1 for device in silent if _open_outage(device, now))
    back = (Alert.objects.open().filter(kind=AlertKind.OFFLINE)
            .filter(device__last_seen__gte=_stale_before(now, "device__"))
            .select_related("device"))
    closed = 0
    for outage in back.select_for_update(of=("self",)):
        _close_outage(outage, now)
        closed += 1
    # a deactivated device is retired, not down: its open outage just ends
    Alert.objects.open().filter(kind=AlertKind.OFFLINE, device__is_active=False).update(closed_at=now)
    return {"opened": opened, "closed": closed}

