"""Scoring: yesterday's day-ahead forecasts against what was measured.

For each subject (plant, metering point, community production / consumption / shared) and a
local day D: the forecast scored is the latest issued before D began (the day-ahead one);
MAE = mean over D's intervals of |forecast - measured| (kWh); persistence forecasts D with
D - 1's measurements at the same position; skill = 1 - MAE / MAE_persistence.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from django.db import transaction

from forecasts import calendar, learn, measured
from forecasts.issue import _devices_by
from forecasts.models import Forecast, ForecastScore, Quantity, SubjectKind


def _slice(forecast: Forecast, start, steps: int) -> np.ndarray:
    """The forecast's values for the `steps` intervals from `start` (NaN where not covered)."""
    offset = int((start - forecast.start).total_seconds() // (forecast.step_minutes * 60))
    values = np.asarray(forecast.values_kwh, dtype=float)
    out = np.full(steps, np.nan)
    lo, hi = max(0, offset), min(len(values), offset + steps)
    if hi > lo:
        out[lo - offset: hi - offset] = values[lo:hi]
    return out


def _score(forecast: np.ndarray, actual: np.ndarray, previous: np.ndarray) -> dict | None:
    err, n = learn.mae(forecast, actual)
    if err is None:
        return None
    persistence, _ = learn.mae(previous, actual)
    ok = ~np.isnan(forecast) & ~np.isnan(actual)
    return {"n": n, "mae_kwh": err, "persistence_mae_kwh": persistence,
            "skill": learn.skill(err, persistence),
            "measured_kwh": float(actual[ok].sum()), "forecast_kwh": float(forecast[ok].sum())}


def forecast_score_day(*, community, day: date) -> list[ForecastScore]:
    """Score the day-ahead forecasts of `day` (local); replaces that day's scores."""
    day_start, day_end = calendar.local_day_bounds(day, community.time_zone)
    issued = (Forecast.objects.filter(community=community, issued_at__lt=day_start,
                                      start__lte=day_start).order_by("-issued_at")
              .values_list("issued_at", flat=True).first())
    if issued is None:
        return []
    forecasts = list(Forecast.objects.filter(community=community, issued_at=issued))
    if not forecasts:
        return []
    step = forecasts[0].step_minutes
    steps = int((day_end - day_start).total_seconds() // (step * 60))
    prev_start = day_start - timedelta(minutes=step * steps)  # persistence: the `steps` before

    def both(devices, metric):
        now = measured.energy_matrix(devices_by_subject=devices, metric=metric, start=day_start,
                                     steps=steps, step_minutes=step)
        before = measured.energy_matrix(devices_by_subject=devices, metric=metric, start=prev_start,
                                        steps=steps, step_minutes=step)
        return now, before

    plants = [f for f in forecasts if f.kind == SubjectKind.PLANT]
    meters = [f for f in forecasts if f.kind == SubjectKind.METER]
    p_now, p_before = both(_devices_by("plant", [f.plant_id for f in plants], ("inverter", "meter")),
                           measured.PRODUCED)
    m_now, m_before = both(_devices_by("metering_point", [f.metering_point_id for f in meters], ("meter",)),
                           measured.IMPORTED)
    scores = []

    def add(f: Forecast, actual, previous):
        result = _score(_slice(f, day_start, steps), actual, previous)
        if result is not None:
            scores.append(ForecastScore(community=community, kind=f.kind, quantity=f.quantity,
                                        plant_id=f.plant_id, metering_point_id=f.metering_point_id,
                                        day=day, issued_at=issued, **result))

    for k, f in enumerate(plants):
        add(f, p_now[k], p_before[k])
    for k, f in enumerate(meters):
        add(f, m_now[k], m_before[k])
    community_actual = _community_measured(p_now, m_now)
    community_before = _community_measured(p_before, m_before)
    for f in forecasts:
        if f.kind == SubjectKind.COMMUNITY:
            add(f, community_actual[f.quantity], community_before[f.quantity])
    with transaction.atomic():
        ForecastScore.objects.filter(community=community, day=day).delete()
        ForecastScore.objects.bulk_create(scores)
    return scores


def _nansum_rows(a: np.ndarray) -> np.ndarray:
    """Sum over subjects per interval; NaN where no subject measured anything."""
    if a.shape[0] == 0:
        return np.full(a.shape[1], np.nan)
    return np.where(np.isnan(a).all(axis=0), np.nan, np.nansum(a, axis=0))


def _community_measured(plants: np.ndarray, meters: np.ndarray) -> dict[str, np.ndarray]:
    production, consumption = _nansum_rows(plants), _nansum_rows(meters)
    return {Quantity.PRODUCTION: production, Quantity.CONSUMPTION: consumption,
            Quantity.SHARED: np.minimum(production, consumption)}
