"""Notifications of the forecasts (kind green_window, battery_schedule) through the
notification service when it is installed (`notifications.services.notify`); nothing
otherwise. The dedup key makes a second run of the same evening send nothing twice."""

from __future__ import annotations

from importlib.util import find_spec

from django.utils import translation

from core.i18n import language_of


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
    from forecasts.steering import tomorrow
    from forecasts.windows import green_windows, window_message
    from notifications.services import notify

    day = tomorrow(community)
    found = green_windows(community=community, day=day)
    if not found:
        return 0
    sent = 0
    members = community.memberships.filter(left_at__isnull=True).select_related("user")
    for membership in members:
        user = membership.user
        with translation.override(language_of(user)):
            body = window_message(found, community.time_zone)
            title = translation.gettext("Green windows tomorrow")
        notify(user=user, kind="green_window", title=title, body=body, url="/",
               data={"community": community.pk, "day": day.isoformat()},
               dedup_key=f"green_window:{community.pk}:{user.pk}:{day.isoformat()}")
        sent += 1
    return sent


def battery_schedule_notify(*, community, day, schedules) -> int:
    """Tell the community's referents (and each battery's plant owner) that tomorrow's
    schedule is ready: expected shared energy with it and with the batteries on their own
    rule, and whether it was sent to the batteries. One per user per day."""
    if not notify_available() or not schedules:
        return 0
    from forecasts.models import ForecastSettings
    from notifications.services import notify

    steering = ForecastSettings.objects.filter(community=community, battery_steering=True).exists()
    users = {u.pk: u for u in community.referents.filter(is_active=True)}
    for s in schedules:
        owner = s.asset.plant.owner
        users.setdefault(owner.pk, owner)
    with_kwh, rule_kwh = schedules[0].expected_shared_kwh, schedules[0].expected_shared_without_kwh
    for user in users.values():
        with translation.override(language_of(user)):
            title = translation.gettext("Battery schedule for %(day)s") % {"day": day.isoformat()}
            body = translation.gettext(
                "%(n)d battery schedule(s): about %(with)s kWh of shared energy expected, "
                "%(gain)s kWh more than the batteries on their own rule.") % {
                "n": len(schedules), "with": f"{with_kwh:.0f}", "gain": f"{with_kwh - rule_kwh:.1f}"}
            body += " " + (translation.gettext("Sent to the batteries.") if steering
                           else translation.gettext("Shown only: battery steering is off."))
        notify(user=user, kind="battery_schedule", title=title, body=body, url="/forecast/batteries/",
               data={"community": community.pk, "day": day.isoformat()},
               dedup_key=f"battery_schedule:{community.pk}:{day.isoformat()}")
    return len(users)
