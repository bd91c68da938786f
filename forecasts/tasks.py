"""Celery tasks: thin wrappers over the services (config/beat.py schedules them)."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

logger = logging.getLogger("commonwatt.forecasts")


def _active_communities():
    from communities.models import Community

    return Community.objects.filter(status="active").order_by("pk")


@shared_task(name="forecasts.tasks.forecast_issue_all_task")
def forecast_issue_all_task() -> dict:
    """Issue every active community's forecasts; then plan tomorrow's battery schedules."""
    from forecasts.issue import forecast_issue
    from forecasts.steering import battery_schedules_plan, tomorrow

    out = {}
    for community in _active_communities():
        try:
            out[community.slug] = forecast_issue(community=community)["shared_kwh"]
            battery_schedules_plan(community=community, day=tomorrow(community))
        except Exception:  # one community's failure must not stop the others
            logger.exception("forecast of %s failed", community.slug)
    return out


@shared_task(name="forecasts.tasks.forecast_score_task")
def forecast_score_task() -> dict:
    """Score yesterday's day-ahead forecasts and measure yesterday's battery schedules."""
    from forecasts.calendar import zone
    from forecasts.scoring import forecast_score_day
    from forecasts.steering import battery_schedules_measure

    out = {}
    for community in _active_communities():
        yesterday = (timezone.localtime(timezone.now(), zone(community.time_zone)) - timedelta(days=1)).date()
        out[community.slug] = len(forecast_score_day(community=community, day=yesterday))
        battery_schedules_measure(community=community, day=yesterday)
    return out


@shared_task(name="forecasts.tasks.green_windows_notify_task")
def green_windows_notify_task() -> int:
    """The evening before: tell each member of each community tomorrow's green windows."""
    from forecasts.notify import green_windows_notify_all

    return green_windows_notify_all()


@shared_task(name="forecasts.tasks.battery_schedules_send_task")
def battery_schedules_send_task(schedule_ids: list[int]) -> int:
    """Send planned schedules as device commands (only for communities that opted in)."""
    from forecasts.steering import battery_schedules_send

    return battery_schedules_send(schedule_ids=schedule_ids)
