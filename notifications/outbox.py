"""The outbox of external sends: one `Delivery` per (notification, channel), sent once.

Semantics: **at most once**. `delivery_send` claims a due row (row lock, `pending` ->
`sending`, `attempts + 1`) and commits the claim *before* calling the provider; only then
does it call the provider and mark the row `sent`. A second run of the task finds the row
no longer pending and does nothing. When the provider answers that it did not take the
message (connection refused, HTTP 429/5xx) the row goes back to `pending` with a doubled
delay (NOTIFICATIONS_RETRY_BASE_S .. NOTIFICATIONS_RETRY_MAX_S) until
NOTIFICATIONS_MAX_ATTEMPTS, then `failed`. When the outcome cannot be known - the call
timed out after the request left, or the worker died between the send and the mark (the
sweep finds it `sending` after NOTIFICATIONS_STUCK_AFTER_S) - the row becomes `unknown`
and is never sent again.

Why not at-least-once with an idempotency key: SMTP has none; a web push service has none
either (its `Topic` header only collapses undelivered messages); Twilio's Messages API does
not deduplicate on a client key. A duplicate SMS or email costs the member more than a rare
lost one, which stays readable in the portal centre anyway (in-app is always stored).
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from notifications.models import Channel, Delivery, DeliveryStatus

logger = logging.getLogger("commonwatt.notifications")


class SendRefused(Exception):
    """The provider did not take the message: safe to send again later."""


class SendRejected(Exception):
    """The provider will never take it (bad number, subscription gone): do not retry."""


class SendAmbiguous(Exception):
    """The request may have been delivered: never send again."""


# Later than this, a delivery is left to the sweep: a broker holds eta messages in the
# workers' memory and redelivers them after its visibility timeout.
MAX_ETA = timedelta(minutes=10)


def delivery_enqueue(*, delivery_id: int, eta: datetime | None = None) -> None:
    """Queue the send task (at `eta` when soon); the beat sweep covers the rest and a lost queue."""
    from notifications.tasks import delivery_send_task

    now = timezone.now()
    try:
        if eta is not None and eta > now + MAX_ETA:
            return  # quiet hours: the sweep sends it when they end
        if eta is not None and eta > now:
            delivery_send_task.apply_async((delivery_id,), eta=eta)
        else:
            delivery_send_task.delay(delivery_id)
    except Exception:  # broker down: the sweep sends it
        logger.warning("notification delivery not queued; the sweep will send it",
                       extra={"id": delivery_id})


def _backoff_s(attempts: int) -> int:
    delay = settings.NOTIFICATIONS_RETRY_BASE_S * 2 ** max(0, attempts - 1)
    return min(settings.NOTIFICATIONS_RETRY_MAX_S, delay)


def _claim(delivery_id: int) -> Delivery | None:
    now = timezone.now()
    with transaction.atomic():
        row = (Delivery.objects.select_for_update(skip_locked=True)
               .select_related("notification__user")
               .filter(pk=delivery_id, status=DeliveryStatus.PENDING, not_before__lte=now).first())
        if row is None:
            return None
        row.status, row.claimed_at, row.attempts = DeliveryStatus.SENDING, now, row.attempts + 1
        row.save(update_fields=["status", "claimed_at", "attempts"])
    return row


def _finish(row: Delivery, **fields) -> None:
    # only from `sending`: a row the sweep already declared unknown stays so
    Delivery.objects.filter(pk=row.pk, status=DeliveryStatus.SENDING).update(**fields)


def delivery_send(*, delivery_id: int) -> bool:
    """Send one due, pending delivery; True when it was sent by this call."""
    from notifications.senders import send

    row = _claim(delivery_id)
    if row is None:
        return False
    try:
        ref = send(row)
    except SendRefused as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if row.attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS:
            _finish(row, status=DeliveryStatus.FAILED, last_error=error)
        else:
            retry_at = timezone.now() + timedelta(seconds=_backoff_s(row.attempts))
            _finish(row, status=DeliveryStatus.PENDING, not_before=retry_at, last_error=error)
            delivery_enqueue(delivery_id=row.pk, eta=retry_at)
        logger.warning("notification delivery refused", extra={"id": row.pk, "attempts": row.attempts})
        return False
    except SendRejected as exc:
        _finish(row, status=DeliveryStatus.FAILED, last_error=f"{exc}"[:2000])
        return False
    except Exception as exc:  # SendAmbiguous or anything unforeseen after the claim
        _finish(row, status=DeliveryStatus.UNKNOWN, last_error=f"{type(exc).__name__}: {exc}"[:2000])
        logger.exception("notification delivery outcome unknown; not resent", extra={"id": row.pk})
        return False
    _finish(row, status=DeliveryStatus.SENT, sent_at=timezone.now(), provider_ref=(ref or "")[:200])
    return True


def deliveries_sweep(*, grace_s: int = 60) -> dict:
    """Beat: send due rows the task did not take (lost queue), and close the rows a dead
    worker left `sending` as `unknown` (never resent: at most once)."""
    now = timezone.now()
    stuck = Delivery.objects.filter(
        status=DeliveryStatus.SENDING,
        claimed_at__lt=now - timedelta(seconds=settings.NOTIFICATIONS_STUCK_AFTER_S),
    ).update(status=DeliveryStatus.UNKNOWN,
             last_error="The worker stopped after claiming it; not sent again (at most once).")
    # due rows; the ones just created (and due at once) are the task's for `grace_s`
    # seconds, while deferred (quiet hours) and retried rows are the sweep's as soon as due
    fresh = Q(created_at__gt=now - timedelta(seconds=grace_s), attempts=0,
              not_before__lte=F("created_at") + timedelta(seconds=1))
    due = list(Delivery.objects.filter(status=DeliveryStatus.PENDING, not_before__lte=now)
               .exclude(fresh).order_by("not_before").values_list("pk", flat=True)[:500])
    sent = sum(delivery_send(delivery_id=pk) for pk in due)
    return {"sent": sent, "due": len(due), "unknown": stuck}


__all__ = [
    "Channel",
    "SendAmbiguous",
    "SendRefused",
    "SendRejected",
    "deliveries_sweep",
    "delivery_enqueue",
    "delivery_send",
]
