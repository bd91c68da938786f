"""Reads: a user's own notifications and choices."""

from notifications.models import Notification
from notifications.preferences import preference_matrix, user_settings


def notifications_list(*, user, unread_only: bool = False):
    qs = Notification.objects.visible_to(user)
    return qs.filter(read_at__isnull=True) if unread_only else qs


def unread_count(*, user) -> int:
    return Notification.objects.visible_to(user).filter(read_at__isnull=True).count()


def latest_unread(*, user, limit: int = 5) -> list[Notification]:
    return list(notifications_list(user=user, unread_only=True)[:limit])


def preferences_get(*, user) -> dict:
    row = user_settings(user)
    return {
        "channels": preference_matrix(user=user),
        "quiet_hours": ({"start": row.quiet_start.strftime("%H:%M"), "end": row.quiet_end.strftime("%H:%M")}
                        if row.quiet_start and row.quiet_end else None),
        "time_zone": row.time_zone,
        "phone_e164": row.phone_e164,
    }
