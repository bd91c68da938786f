"""Web push (RFC 8030 + 8291 encryption + 8292 VAPID) through pywebpush, to every browser
the user subscribed. A subscription the push service says is gone (404/410) is deleted."""

import json
from urllib.parse import urlsplit

import requests
from django.conf import settings
from pywebpush import WebPushException, webpush

from notifications.models import Delivery, PushSubscription
from notifications.outbox import SendAmbiguous, SendRefused, SendRejected


def payload(delivery: Delivery) -> dict:
    n = delivery.notification
    return {"id": n.pk, "kind": n.kind, "title": n.title, "body": n.body, "url": n.url or "/notifications/"}


def push_one(subscription: PushSubscription, data: dict, *, urgent: bool = False, topic: str = ""):
    """Send one encrypted message; returns the push service's response."""
    endpoint = urlsplit(subscription.endpoint)
    headers = {"Urgency": "high" if urgent else "normal"}
    if topic:
        headers["Topic"] = topic  # a second copy waiting in the push service replaces the first
    return webpush(
        subscription_info={"endpoint": subscription.endpoint,
                           "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}},
        data=json.dumps(data), vapid_private_key=settings.VAPID_PRIVATE_KEY,
        vapid_claims={"sub": settings.VAPID_SUBJECT, "aud": f"{endpoint.scheme}://{endpoint.netloc}"},
        ttl=settings.WEBPUSH_TTL_S, headers=headers, timeout=settings.NOTIFICATIONS_SEND_TIMEOUT_S,
        content_encoding="aes128gcm")


def send(delivery: Delivery) -> str:
    """Sent when at least one browser took it. When none did and one may take it later
    (429/5xx, unreachable), refused (retried); the browsers that took it count as sent."""
    subscriptions = list(PushSubscription.objects.filter(user_id=delivery.notification.user_id))
    if not subscriptions:
        raise SendRejected("no browser subscribed")
    data = payload(delivery)
    sent, retry = 0, []
    for subscription in subscriptions:
        try:
            push_one(subscription, data, urgent=delivery.notification.urgent,
                     topic=f"n{delivery.notification_id}")
            sent += 1
            if subscription.failures:
                PushSubscription.objects.filter(pk=subscription.pk).update(failures=0)
        except WebPushException as exc:
            status = getattr(exc.response, "status_code", None)
            if status in (404, 410):
                subscription.delete()  # unsubscribed or expired: the browser is gone
            elif status is not None and (status == 429 or status >= 500):
                retry.append(f"{status}")
            else:
                PushSubscription.objects.filter(pk=subscription.pk).update(failures=subscription.failures + 1)
        except requests.Timeout as exc:
            if sent == 0 and len(subscriptions) == 1:
                raise SendAmbiguous(f"push service timed out: {exc}") from exc
        except requests.ConnectionError:
            retry.append("unreachable")
    if sent:
        return f"{sent}/{len(subscriptions)}"
    if retry:
        raise SendRefused("push services: " + ", ".join(retry))
    raise SendRejected("no push service took the message")
