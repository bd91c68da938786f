"""Defaults and lookups for the user's choices: which kinds reach which channel, and when
the quiet hours end."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from notifications.models import Channel, NotificationKind, Preference, UserSettings

K = NotificationKind
# In-app is always on (the centre is the record); email for what concerns money, devices
# and approvals; push for what is time-bound; SMS only when the user asks for it.
DEFAULTS: dict[str, set[str]] = {
    K.DEVICE_OFFLINE: {Channel.EMAIL, Channel.PUSH},
    K.GREEN_WINDOW: {Channel.PUSH},
    # the statement itself is emailed with its PDF (statements' outbox): not a second email
    K.STATEMENT_READY: {Channel.PUSH},
    K.WALLET_MOVEMENT: {Channel.EMAIL},
    K.SETTLEMENT_APPROVAL: {Channel.EMAIL},
    K.BATTERY_SCHEDULE: {Channel.PUSH},
    K.SYSTEM: {Channel.EMAIL},
}


def preference_matrix(*, user) -> dict[str, dict[str, bool]]:
    """{kind: {channel: enabled}} for every kind and channel, defaults filled in."""
    matrix = {kind: {ch: ch == Channel.IN_APP or ch in DEFAULTS.get(kind, set())
                     for ch in Channel.values} for kind in NotificationKind.values}
    for kind, channel, enabled in Preference.objects.filter(user=user).values_list(
            "kind", "channel", "enabled"):
        if kind in matrix and channel != Channel.IN_APP:
            matrix[kind][channel] = enabled
    return matrix


def user_settings(user) -> UserSettings:
    """The user's settings row (unsaved defaults when they never set any)."""
    return UserSettings.objects.filter(user=user).first() or UserSettings(user=user)


def user_time_zone(user, row: UserSettings | None = None) -> ZoneInfo:
    """The user's own time zone, else their (first current) community's, else the default."""
    row = row if row is not None else user_settings(user)
    if row.time_zone:
        return ZoneInfo(row.time_zone)
    from communities.models import Membership

    tz = (Membership.objects.filter(user=user, left_at__isnull=True).order_by("joined_at", "id")
          .values_list("community__time_zone", flat=True).first())
    return ZoneInfo(tz or settings.NOTIFICATIONS_DEFAULT_TIME_ZONE)


def quiet_hours_end(*, user, at: datetime, row: UserSettings | None = None) -> datetime | None:
    """When `at` falls in the user's quiet hours, the (aware, UTC) instant they end; else None.

    The window is local wall time; one that wraps midnight (22:00-07:00) is the usual case.
    Start == end means no quiet hours."""
    row = row if row is not None else user_settings(user)
    start, end = row.quiet_start, row.quiet_end
    if start is None or end is None or start == end:
        return None
    tz = user_time_zone(user, row)
    local = at.astimezone(tz)
    now_t = local.time()
    if start < end:
        inside = start <= now_t < end
        end_day = local.date()
    else:  # wraps midnight
        inside = now_t >= start or now_t < end
        end_day = local.date() + timedelta(days=1) if now_t >= start else local.date()
    if not inside:
        return None
    ends = datetime.combine(end_day, end, tzinfo=tz)
    # a wall time that does not exist (DST gap) still compares correctly once normalised
    return ends.astimezone(ZoneInfo("UTC"))



