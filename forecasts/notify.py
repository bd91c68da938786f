"""Notifications of the forecasts (kind green_window, battery_schedule) through the
notification service when it is installed (`notifications.services.notify`); nothing
otherwise. The dedup key makes a second run of the same evening send nothing twice."""

from __future__ import annotations

from importlib.util import find_spec

from django.utils import translation


def notify_available() -> bool:
    return find_spec("notifications") is not None and find_spec("notifications.services") is not None


def green_windows_notify_all() -> int:
    """Tell every current member of every active community tomorrow's largest green window.
    Returns how many notifications were handed to the service."""
    from communities.models import Community

    if not notify_available():
        return 0
    sent = 0
    for community in Community.objects.filter(status="active").order_by("pk"):
        sent += green_windows_notify(community=community)
    return sent


def green_windows_notify(*, community) -> int:
    from notifications.services import notify

    from forecasts.steering import tomorrow
    from forecasts.windows import green_windows, window_message

    day = tomorrow(community)
    found = green_windows(community=community, day=day)
    if not found:
        return 0
    sent = 0
    members = community.memberships.filter(left_at__isnull=True).select_related("user")
    for membership in members:
        user = membership.user
        language = (getattr(user, "preferences", None) or {}).get("language") or "it"
        with translation.override(language):
            body = window_message(found, community.time_zone)
            title = translation.gettext("Green windows tomorrow")
        notify(user=user, kind="green_window", title=title, body=body, url="/",
               data={"community": community.pk, "day": day.isoformat()},
               dedup_key=f"green_window:{community.pk}:{user.pk}:{day.isoformat()}")
        sent += 1
    return sent
