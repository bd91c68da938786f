"""Reads of the forecasts app: every user-facing query starts from `visible_to(user)`."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from django.db.models import Avg, Count

from core.scoping import get_visible
from forecasts.models import BatterySchedule, Forecast, ForecastScore, ForecastSettings, Quantity, SubjectKind


def community_visible(*, user, community_id: int):
    from communities.models import Community

    return get_visible(Community.objects.all(), user, pk=community_id)


def communities_visible(*, user):
    from communities.models import Community

    return Community.objects.visible_to(user).order_by("pk")


def community_forecast(*, user, community_id: int) -> dict | None:
    """The latest issue of the community's series with their bands (None: never issued)."""
    community = community_visible(user=user, community_id=community_id)
    rows = Forecast.objects.visible_to(user).filter(community=community, kind=SubjectKind.COMMUNITY)
    latest = rows.order_by("-issued_at").values_list("issued_at", flat=True).first()
    if latest is None:
        return None
    series = {f.quantity: f for f in rows.filter(issued_at=latest)}
    first = next(iter(series.values()))
    t = [(first.start + timedelta(minutes=first.step_minutes * i)).isoformat()
         for i in range(len(first.values_kwh))]
    return {
        "community": community.pk, "issued_at": latest.isoformat(), "start": first.start.isoformat(),
        "step_minutes": first.step_minutes, "t": t,
        "series": {q: {"values_kwh": f.values_kwh, "low_kwh": f.low_kwh, "high_kwh": f.high_kwh,
                       "method": f.method} for q, f in sorted(series.items())},
    }


def own_forecasts(*, user, community) -> list[dict]:
    """The latest forecasts of the meters and plants the user owns in the community."""
    latest = (Forecast.objects.filter(community=community).order_by("-issued_at")
              .values_list("issued_at", flat=True).first())
    if latest is None:
        return []
    rows = (Forecast.objects.filter(community=community, issued_at=latest)
            .filter(plant__owner=user) | Forecast.objects.filter(
                community=community, issued_at=latest, metering_point__membership__user=user))
    return [{"kind": f.kind, "quantity": f.quantity, "plant": f.plant_id,
             "metering_point": f.metering_point_id, "values_kwh": f.values_kwh, "method": f.method}
            for f in rows.order_by("kind", "pk")]


def skill_summary(*, user, community_id: int | None, days: int, today: date) -> list[dict]:
    """Per visible community: each day's community scores, and the mean skill of the plants
    and meters the user may see over the last `days` days."""
    communities = communities_visible(user=user)
    if community_id is not None:
        communities = [community_visible(user=user, community_id=community_id)]
    scores = ForecastScore.objects.visible_to(user).filter(day__gte=today - timedelta(days=days),
                                                           day__lt=today)
    out = []
    for community in communities:
        mine = scores.filter(community=community)
        daily = [{"day": s.day.isoformat(), "quantity": s.quantity, "mae_kwh": round(s.mae_kwh, 4),
                  "persistence_mae_kwh": _r(s.persistence_mae_kwh), "skill": _r(s.skill),
                  "measured_kwh": round(s.measured_kwh, 3), "forecast_kwh": round(s.forecast_kwh, 3)}
                 for s in mine.filter(kind=SubjectKind.COMMUNITY).order_by("day", "quantity")]
        subjects = {row["kind"]: {"subjects": row["n"], "mean_mae_kwh": _r(row["mae"]),
                                  "mean_persistence_mae_kwh": _r(row["pmae"])}
                    for row in mine.exclude(kind=SubjectKind.COMMUNITY).values("kind")
                    .annotate(n=Count("id"), mae=Avg("mae_kwh"), pmae=Avg("persistence_mae_kwh"))}
        for row in subjects.values():
            mae, pmae = row["mean_mae_kwh"], row["mean_persistence_mae_kwh"]
            row["skill"] = _r(1 - mae / pmae if mae is not None and pmae else None)
        out.append({"community": community.pk, "days": daily, "subjects": subjects,
                    "overall": _overall(daily)})
    return out


def _overall(daily: list[dict]) -> dict:
    out = {}
    for q in (Quantity.PRODUCTION, Quantity.CONSUMPTION, Quantity.SHARED):
        rows = [d for d in daily if d["quantity"] == q and d["persistence_mae_kwh"]]
        if rows:
            mae = float(np.mean([d["mae_kwh"] for d in rows]))
            pmae = float(np.mean([d["persistence_mae_kwh"] for d in rows]))
            out[q] = {"days": len(rows), "mae_kwh": round(mae, 4), "persistence_mae_kwh": round(pmae, 4),
                      "skill": round(1 - mae / pmae, 3)}
    return out


def _r(value, digits: int = 4):
    return None if value is None else round(float(value), digits)


def schedules(*, user, community_id: int | None, day: date | None):
    qs = BatterySchedule.objects.visible_to(user).select_related("command", "asset", "asset__plant",
                                                                 "community")
    if community_id is not None:
        qs = qs.filter(community=community_visible(user=user, community_id=community_id))
    if day is not None:
        qs = qs.filter(day=day)
    return qs.order_by("-day", "asset_id")


def settings_of(community) -> ForecastSettings:
    found = ForecastSettings.objects.filter(community=community).first()
    return found or ForecastSettings(community=community)
