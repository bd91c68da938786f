"""The forecast benchmark (`python -m benchmarks forecast`) runs end to end at tiny sizes and
leaves the database as it found it."""

import pytest
from sklearn.ensemble import HistGradientBoostingRegressor

from benchmarks import bench_forecast
from communities.models import Community
from forecasts import learn
from forecasts.models import BatterySchedule, Forecast

pytestmark = pytest.mark.django_db


def test_it_runs_at_tiny_sizes_and_rolls_back(monkeypatch):
    for name, value in {"METERS": "30", "PLANTS": "4", "BATTERIES": "2", "HISTORY_DAYS": "14"}.items():
        monkeypatch.setenv(f"BENCH_FORECAST_{name}", value)
    # tiny models too: the trees' fit is most of a tiny run, and the bench measures no accuracy
    monkeypatch.setattr(learn, "_regressor", lambda seed=0: HistGradientBoostingRegressor(
        max_iter=5, random_state=seed))

    out = bench_forecast.run()

    assert (out["meters"], out["plants"], out["step_minutes"]) == (30, 4, 60)
    assert out["history_steps"] == 14 * 24 + 4  # from midnight UTC 14 days before to the 04:00 issue
    forecast = out["forecast"]
    assert sum(forecast["methods"].values()) == 34
    assert forecast["methods"]["bdew-h0 x declared annual"] == 1  # the meter without history
    assert forecast["production_kwh"] > 0 and forecast["consumption_kwh"] > 0
    assert forecast["wall_s"] > 0 and forecast["peak_traced_mb"] > 0
    assert forecast["baseline"]["history_read_s"] > 0
    assert isinstance(forecast["meets_goal"], bool)
    schedule = out["battery_schedule"]
    assert schedule["batteries"] == 2 and schedule["steps"] == 24
    assert schedule["expected_shared_kwh"] >= schedule["expected_shared_rule_kwh"] - 1e-6
    assert isinstance(schedule["meets_goal"], bool)
    assert not Community.objects.filter(slug__startswith="bench-").exists()
    assert not Forecast.objects.exists() and not BatterySchedule.objects.exists()
