"""The live side of the centre: each user's websocket group gets every new notification
and the unread count (notifications.consumers)."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from notifications.models import Notification

logger = logging.getLogger("commonwatt.notifications")


def user_group(user_id: int) -> str:
    return f"notifications.user.{user_id}"


def unread_count(user_id: int) -> int:
    return Notification.objects.filter(user_id=user_id, read_at__isnull=True).count()


def item(notification: Notification) -> dict:
    return {"id": notification.pk, "kind": notification.kind, "title": notification.title,
            "body": notification.body, "url": notification.url, "data": notification.data,
            "created_at": notification.created_at.isoformat(),
            "read_at": notification.read_at.isoformat() if notification.read_at else None}


def _send(user_id: int, event: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(user_group(user_id), event)
    except Exception:  # the centre is the record: a missed live frame is caught up on reload
        logger.warning("live notification not sent", extra={"user": user_id}, exc_info=True)


def live_notification_created(notification: Notification) -> None:
    _send(notification.user_id, {"type": "notification.created", "item": item(notification),
                                 "unread": unread_count(notification.user_id)})


def live_unread_changed(user_id: int) -> None:
    _send(user_id, {"type": "notification.unread", "unread": unread_count(user_id)})
