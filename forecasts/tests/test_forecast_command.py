"""`manage.py forecast`: issues, stores one row per subject, falls back for new meters,
learns the plant's shading, scores a day against the measurements."""

import json
from datetime import date, datetime
from io import StringIO

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command
from scipy.stats import norm

from forecasts import physics
from forecasts.models import Forecast, ForecastScore, Quantity, SubjectKind
from forecasts.tests.conftest import HISTORY_START, ISSUE

pytestmark = pytest.mark.django_db


def _run(*args) -> dict:
    out = StringIO()
    call_command("forecast", *args, stdout=out)
    return json.loads(out.getvalue())


def _hour(at: datetime) -> int:
    return int((at - HISTORY_START).total_seconds() // 3600)


def test_it_issues_and_stores_one_row_per_subject(site):
    summary = _run("--community", site.community.slug, "--at", ISSUE.isoformat())
    assert (summary["plants"], summary["meters"], summary["steps"], summary["step_minutes"]) == (1, 3, 48, 60)
    rows = Forecast.objects.filter(community=site.community, issued_at=ISSUE)
    assert rows.count() == 1 + 3 + 3
    community = rows.get(kind=SubjectKind.COMMUNITY, quantity=Quantity.SHARED)
    prod = rows.get(kind=SubjectKind.COMMUNITY, quantity=Quantity.PRODUCTION)
    cons = rows.get(kind=SubjectKind.COMMUNITY, quantity=Quantity.CONSUMPTION)
    # shared = E[min(P, C)], P and C normal with the deviations of their 10-90 % bands
    # (width / 2.563), independent: mu_P - (mu Phi(mu / s) + s phi(mu / s)), mu = mu_P - mu_C
    p, c = np.array(prod.values_kwh), np.array(cons.values_kwh)
    s = np.hypot(np.subtract(prod.high_kwh, prod.low_kwh), np.subtract(cons.high_kwh, cons.low_kwh)) / 2.5631
    mu = p - c
    with np.errstate(divide="ignore", invalid="ignore"):
        by_hand = np.where(s > 1e-9, p - (mu * norm.cdf(mu / s) + s * norm.pdf(mu / s)), np.minimum(p, c))
    assert np.allclose(community.values_kwh, np.clip(by_hand, 0, None), atol=2e-3)
    assert (np.array(community.values_kwh) <= np.minimum(p, c) + 1e-3).all()
    assert np.array(community.values_kwh).sum() < np.minimum(p, c).sum() - 0.1  # where P and C are close
    assert community.method == "E[min(production, consumption)], normal errors"
    assert all(lo <= v + 1e-9 <= hi + 2e-9 for lo, v, hi in zip(prod.low_kwh, prod.values_kwh, prod.high_kwh,
                                                                 strict=True))
    assert len(community.values_kwh) == 48
    # issuing again at the same time replaces, never duplicates
    _run("--community", site.community.slug, "--at", ISSUE.isoformat())
    assert Forecast.objects.filter(community=site.community, issued_at=ISSUE).count() == 7


def test_a_new_meter_gets_the_bdew_profile_scaled_to_its_annual_consumption(site):
    summary = _run("--community", site.community.slug, "--at", ISSUE.isoformat())
    assert summary["methods"]["bdew-h0 x declared annual"] == 1
    row = Forecast.objects.get(metering_point=site.new_meter, issued_at=ISSUE)
    day = np.array(row.values_kwh[20:44])  # a whole local day
    # 3,650 kWh a year is 10 kWh a day on average; H0 in June is below its mean
    assert 6.0 < day.sum() < 11.0
    assert day.max() > 2 * day.min()  # a profile, not a flat line
    learned = Forecast.objects.filter(kind=SubjectKind.METER, issued_at=ISSUE).exclude(pk=row.pk)
    assert {f.method for f in learned} == {"gbm"}


def test_the_plant_forecast_learns_its_shading_and_beats_raw_clear_sky(site):
    _run("--community", site.community.slug, "--at", ISSUE.isoformat())
    row = Forecast.objects.get(plant=site.plant, issued_at=ISSUE)
    assert row.method == "clear-sky x gbm"
    h0 = _hour(ISSUE)
    truth = site.production[h0:h0 + 48]
    index = pd.date_range(ISSUE, periods=48, freq="1h")
    raw = physics.clear_sky_kwh(weather=physics.clear_sky_weather(lat=site.plant.location.y,
                                                                  lon=site.plant.location.x, index=index),
                                kwp=40, tilt_deg=30, azimuth_deg=180, losses_pct=float(site.plant.losses_pct))
    learned_mae = np.abs(np.array(row.values_kwh) - truth).mean()
    raw_mae = np.abs(raw - truth).mean()
    assert learned_mae < 0.7 * raw_mae


def test_it_scores_a_day_against_the_measurements(site):
    summary = _run("--community", site.community.slug, "--at", ISSUE.isoformat(), "--score", "2025-06-18")
    assert {(s["quantity"]) for s in summary["scores"]} == {"production", "consumption", "shared"}
    score = ForecastScore.objects.get(plant=site.plant, day=date(2025, 6, 18))
    row = Forecast.objects.get(plant=site.plant, issued_at=ISSUE)
    day_start = datetime(2025, 6, 17, 22, tzinfo=ISSUE.tzinfo)  # local midnight in Rome (UTC+2)
    h = _hour(day_start)
    truth, before = site.production[h:h + 24], site.production[h - 24:h]
    offset = _hour(day_start) - _hour(ISSUE)
    forecast = np.array(row.values_kwh[offset:offset + 24])
    assert score.n == 24
    assert score.mae_kwh == pytest.approx(np.abs(forecast - truth).mean(), abs=1e-3)
    assert score.persistence_mae_kwh == pytest.approx(np.abs(before - truth).mean(), abs=1e-3)
    assert score.skill == pytest.approx(1 - score.mae_kwh / score.persistence_mae_kwh)
    meter = ForecastScore.objects.get(metering_point=site.meters[0], day=date(2025, 6, 18))
    assert meter.measured_kwh == pytest.approx(site.consumption[0][h:h + 24].sum(), abs=1e-2)
    # the new meter has no measurement: no score rather than a made-up one
    assert not ForecastScore.objects.filter(metering_point=site.new_meter).exists()


def test_it_refuses_an_unknown_community_and_a_naive_time(site):
    with pytest.raises(CommandError, match="No community"):
        _run("--community", "nope")
    with pytest.raises(CommandError, match="UTC offset"):
        _run("--community", site.community.slug, "--at", "2025-06-17T06:00")
    assert not Forecast.objects.exists()


