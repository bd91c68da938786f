"""Portal pages: the community's forecast (chart, green windows, skill, a member's shift)
and the battery schedules (managers and battery owners)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from core.exceptions import NotFound
from forecasts import calendar, selectors, windows
from forecasts.api import _own_meters


def _communities(request):
    communities = list(selectors.communities_visible(user=request.user))
    raw = request.GET.get("community")
    if raw:
        try:
            return [selectors.community_visible(user=request.user, community_id=int(raw))]
        except (ValueError, NotFound):
            raise Http404("Community not found") from None
    return communities


def _today(community):
    return timezone.localtime(timezone.now(), calendar.zone(community.time_zone)).date()


@login_required
def forecast_page(request):
    blocks = []
    for community in _communities(request):
        today = _today(community)
        tomorrow = today + timedelta(days=1)
        found = windows.green_windows(community=community, day=tomorrow)
        own = _own_meters(request.user, community)
        skill = selectors.skill_summary(user=request.user, community_id=community.pk, days=7,
                                        today=today + timedelta(days=1))[0]
        forecast = selectors.community_forecast(user=request.user, community_id=community.pk)
        blocks.append({
            "community": community, "day": tomorrow,
            "windows": [w.as_dict(community.time_zone) for w in found],
            "message": windows.window_message(found, community.time_zone),
            "forecast": forecast, "rows": _rows(forecast, community.time_zone),
            "chart_id": f"forecast-data-{community.pk}",
            "skill": skill["overall"],
            "shift": windows.shift_earned(community=community, metering_point_ids=own,
                                          day=today - timedelta(days=1)) if own else None,
        })
    return render(request, "forecasts/forecast.html", {"blocks": blocks})


@login_required
def batteries_page(request):
    schedules = list(selectors.schedules(user=request.user, community_id=None, day=None)[:50])
    steering = {c.pk: selectors.settings_of(c).battery_steering for c in {s.community for s in schedules}}
    rows = []
    for s in schedules:
        dt = s.step_minutes / 60.0
        rows.append({"schedule": s, "steering": steering[s.community_id], "hours": [
            {"start": timezone.localtime(s.start + timedelta(minutes=s.step_minutes * i),
                                         calendar.zone(s.community.time_zone)).strftime("%H:%M"),
             "power_kw": round((c - d) / dt, 2), "soc_kwh": round(soc, 2)}
            for i, (c, d, soc) in enumerate(zip(s.charge_kwh, s.discharge_kwh, s.soc_kwh, strict=True))]})
    return render(request, "forecasts/batteries.html", {"rows": rows})


def _rows(forecast: dict | None, time_zone: str) -> list[dict]:
    """The forecast as table rows in local time (hourly, 15-minute steps summed per hour)."""
    from datetime import datetime

    if not forecast:
        return []
    series = forecast["series"]
    out: dict[str, dict] = {}
    for i, t in enumerate(forecast["t"]):
        local = timezone.localtime(datetime.fromisoformat(t), calendar.zone(time_zone))
        key = local.strftime("%a %H:00")
        row = out.setdefault(key, {"time": key, "production": 0.0, "consumption": 0.0, "shared": 0.0,
                                   "low": 0.0, "high": 0.0})
        for q in ("production", "consumption", "shared"):
            row[q] += series.get(q, {}).get("values_kwh", [0.0] * (i + 1))[i]
        band = series.get("shared", {})
        row["low"] += band.get("low_kwh", [0.0] * (i + 1))[i] if band.get("low_kwh") else 0.0
        row["high"] += band.get("high_kwh", [0.0] * (i + 1))[i] if band.get("high_kwh") else 0.0
    return list(out.values())
