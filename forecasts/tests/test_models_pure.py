"""Worked examples of the pure parts: clear sky against pvlib's own, the learned correction,
skill by hand, green windows from a hand-made forecast, the battery LP on a hand-made day."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pvlib
import pytest

from forecasts import learn, physics, testing, uncertainty
from forecasts.steering import schedule_solve
from forecasts.windows import windows_from
from simulation.physics import BatterySpec


def test_it_matches_pvlibs_own_clear_sky_production():
    """Bologna, 21 June 2025, 10 kWp south 30 degrees: our clear-sky energy vs a plain pvlib
    chain (Location.get_clearsky -> get_total_irradiance -> pvwatts_dc, no IAM/temperature)."""
    lat, lon = 44.49, 11.34
    index = pd.date_range("2025-06-21", periods=24, freq="1h", tz="UTC")
    ours = physics.clear_sky_kwh(weather=physics.clear_sky_weather(lat=lat, lon=lon, index=index),
                                 kwp=10, tilt_deg=30, azimuth_deg=180, losses_pct=0)
    mid = index + pd.Timedelta(minutes=30)
    loc = pvlib.location.Location(lat, lon)
    sol = loc.get_solarposition(mid)
    cs = loc.get_clearsky(mid, solar_position=sol)
    poa = pvlib.irradiance.get_total_irradiance(30, 180, sol["apparent_zenith"], sol["azimuth"],
                                                cs["dni"], cs["ghi"], cs["dhi"])
    plain_kw = pvlib.pvsystem.pvwatts_dc(poa["poa_global"].fillna(0), 25.0, 10.0, -0.0037).clip(lower=0)
    plain_kwh = float(np.asarray(plain_kw).sum())  # kW over 1 h intervals
    # the plain chain keeps the cell at 25 C; ours adds IAM, cell heating and the 96 %
    # inverter: lower by a few to ~15 %, never above
    assert 60 < ours.sum() < 90
    assert 0.82 * plain_kwh < ours.sum() < plain_kwh
    assert ours[:3].sum() == 0  # night (UTC 00-03)
    assert int(np.argmax(ours)) in (10, 11)  # solar noon at ~11:15 UTC in Bologna


def test_clear_sky_of_many_sites_at_once_is_pvlibs_site_by_site():
    """`clear_sky_sites` (one ephemeris, one read per climatology cell) gives what pvlib's own
    Location gives each site: sites in one 5' cell, in neighbouring cells, far apart, south."""
    index = pd.date_range("2025-03-30", periods=4 * 24 * 3, freq="15min", tz="Europe/Rome")
    sites = [(44.471, 11.301), (44.472, 11.302), (44.51, 11.36), (44.43, 11.25), (37.5, 15.07),
             (-33.87, 151.21)]
    together = physics.clear_sky_sites(sites=sites, index=index)
    mid = index.tz_convert("UTC") + pd.Timedelta(minutes=7.5)
    for (lat, lon), ours in zip(sites, together, strict=True):
        alone = physics.clear_sky_weather(lat=lat, lon=lon, index=index)
        for name in ("zenith", "azimuth", "ghi", "dni", "dhi", "dni_extra", "temp_air_c"):
            np.testing.assert_allclose(getattr(ours, name), getattr(alone, name), rtol=1e-12, atol=1e-9)
        loc = pvlib.location.Location(lat, lon)
        cs = loc.get_clearsky(mid, solar_position=loc.get_solarposition(mid))
        np.testing.assert_allclose(ours.ghi, np.nan_to_num(cs["ghi"].to_numpy()), rtol=1e-12, atol=1e-9)
        assert ours.ghi.max() > 500
        np.testing.assert_array_equal(
            physics.clear_sky_kwh(weather=ours, kwp=10, tilt_deg=30, azimuth_deg=180, losses_pct=14),
            physics.clear_sky_kwh(weather=alone, kwp=10, tilt_deg=30, azimuth_deg=180, losses_pct=14))
    assert physics.clear_sky_sites(sites=[], index=index) == []


def test_expected_shared_energy_by_hand():
    """E[min(P, C)] for independent normal P, C and its 10-90 % band, against the closed
    forms: equal means 5 kWh and deviations 1 kWh give 5 - sqrt(2) phi(0) = 5 - 1/sqrt(pi);
    P(min > x) = P(P > x)^2 = 0.9 at x = 5 + ndtri(1 - sqrt(0.9)) = 3.3678, = 0.1 at
    x = 5 + ndtri(1 - sqrt(0.1)) = 5.4783."""
    p, c = np.array([5.0, 0.0, 10.0, 2.0]), np.array([5.0, 3.0, 2.0, 2.0])
    sd_p, sd_c = np.array([1.0, 0.0, 1.0, 0.0]), np.array([1.0, 1.0, 0.0, 0.0])
    expected = uncertainty.expected_minimum(p, sd_p, c, sd_c)
    # night (no production), production far above consumption, both certain
    np.testing.assert_allclose(expected, [5 - 1 / np.sqrt(np.pi), 0.0, 2.0, 2.0], atol=1e-6)
    assert expected[0] < min(p[0], c[0])
    low = uncertainty.minimum_quantile(0.1, p, sd_p, c, sd_c)
    high = uncertainty.minimum_quantile(0.9, p, sd_p, c, sd_c)
    np.testing.assert_allclose([low[0], high[0]], [3.36778, 5.47827], atol=1e-4)
    np.testing.assert_allclose([low[1], high[1], low[2], high[2], low[3], high[3]], [0, 0, 2, 2, 2, 2],
                               atol=1e-6)
    # the bands' width gives the deviation: a 10-90 % band of a normal is 2 x 1.2816 sd wide
    np.testing.assert_allclose(uncertainty.sd_from_band(np.array([3.7184]), np.array([6.2816])), [1.0],
                               atol=1e-4)
    # a Monte Carlo of the same distributions agrees
    rng = np.random.default_rng(3)
    draws = np.minimum(5 + rng.standard_normal(400_000), 5 + rng.standard_normal(400_000))
    assert abs(draws.mean() - expected[0]) < 0.01
    assert abs(np.quantile(draws, 0.1) - low[0]) < 0.02 and abs(np.quantile(draws, 0.9) - high[0]) < 0.02


def test_the_learned_correction_beats_raw_clear_sky_on_synthetic_telemetry():
    """A plant shaded in the morning and at 80 % of clear sky: raw clear sky misses both."""
    start = datetime(2025, 5, 1, tzinfo=UTC)
    days = 30
    hours = days * 24
    index = pd.date_range(start, periods=hours, freq="1h")
    clear = physics.clear_sky_kwh(weather=physics.clear_sky_weather(lat=44.5, lon=11.3, index=index),
                                  kwp=1.0, tilt_deg=30, azimuth_deg=180, losses_pct=14)
    truth = testing.truth_production(lat=44.5, lon=11.3, kwp=1.0, start=start, hours=hours, seed=5,
                                     ratio=0.8, morning_shade=0.4)
    hist, future = slice(0, hours - 48), slice(hours - 48, hours)
    cal_hour = index.hour.to_numpy().astype(float)
    doy = index.day_of_year.to_numpy().astype(float)
    fit, next_pr, long_pr = learn.fit_production(
        clear_per_kwp=clear[None, hist], measured_per_kwp=truth[None, hist], hour=cal_hour[hist],
        doy=doy[hist], steps_per_day=24)
    assert fit.model is not None
    predicted = learn.predict_production(fit, clear_per_kwp=clear[None, future], hour=cal_hour[future],
                                         doy=doy[future], next_pr=next_pr, long_pr=long_pr)[0]
    raw_mae, _ = learn.mae(clear[future], truth[future])
    learned_mae, _ = learn.mae(predicted, truth[future])
    assert learned_mae < 0.6 * raw_mae


def test_it_computes_mae_and_skill_by_hand():
    measured = np.array([1.0, 2.0, 3.0, np.nan])
    forecast = np.array([1.5, 2.0, 2.0, 9.0])
    persistence = np.array([0.0, 4.0, 3.0, 1.0])
    mae, n = learn.mae(forecast, measured)
    assert (mae, n) == (pytest.approx(0.5), 3)  # (0.5 + 0 + 1) / 3
    p_mae, _ = learn.mae(persistence, measured)
    assert p_mae == pytest.approx(1.0)  # (1 + 2 + 0) / 3
    assert learn.skill(mae, p_mae) == pytest.approx(0.5)
    assert learn.skill(mae, 0.0) is None
    assert learn.mae(np.array([np.nan]), np.array([1.0])) == (None, 0)


def test_it_finds_green_windows_in_a_hand_made_forecast():
    start = datetime(2025, 6, 18, tzinfo=UTC)
    starts = [start + timedelta(hours=h) for h in range(8)]
    production = np.array([0, 5, 12, 20, 20, 3, 9, 9], dtype=float)
    consumption = np.array([4, 4, 4, 5, 6, 4, 4, 4], dtype=float)
    found = windows_from(production - consumption, starts, 60, production=production,
                         consumption=consumption, min_kwh=1.0)
    assert [(w.start.hour, w.end.hour, w.surplus_kwh) for w in found] == [(1, 5, 1 + 8 + 15 + 14), (6, 8, 10)]
    assert found[0].as_dict("Europe/Rome")["local_start"] == "03:00"
    assert found[0].as_dict("Europe/Rome")["appliance_kwh"] == 1.2
    assert windows_from(production - consumption, starts, 60, production=production,
                        consumption=consumption, min_kwh=100.0) == []


def test_the_schedule_respects_the_limits_and_adds_shared_energy():
    """One battery behind a meter with surplus at t0, t1 and deficit at t2, t3. At t0 the
    community draws more than it injects beyond the battery: its own rule (charge at once)
    destroys 3 kWh of shared energy; the schedule charges at t1 instead."""
    spec = BatterySpec(capacity_kwh=10, power_kw=5, charge_efficiency=1.0, discharge_efficiency=1.0,
                       soc_min_pct=0, soc_max_pct=100, soc_initial_pct=50)
    surplus = np.array([[5.0, 5.0, -3.0, -3.0]])
    inj0, wd0 = np.array([6.0, 10.0, 0.0, 0.0]), np.array([4.0, 2.0, 6.0, 6.0])
    best, with_kwh, rule_kwh = schedule_solve(specs=[spec], surplus_kwh=surplus, inj0_kwh=inj0,
                                              wd0_kwh=wd0, dt_h=1.0)
    assert rule_kwh == pytest.approx(1.0 + 2.0)  # rule: charge 5 at t0 (6-5 < 4), full at t1
    assert with_kwh == pytest.approx(4.0 + 2.0)
    c, d, soc = best.charge_kwh[0], best.discharge_kwh[0], best.soc_kwh[0]
    assert (c <= spec.power_kw + 1e-9).all() and (d <= spec.power_kw + 1e-9).all()
    assert (c <= np.maximum(surplus[0], 0) + 1e-9).all() and (d <= np.maximum(-surplus[0], 0) + 1e-9).all()
    assert (soc >= spec.soc_min_kwh - 1e-9).all() and (soc <= spec.soc_max_kwh + 1e-9).all()
    assert c[0] == pytest.approx(0.0, abs=1e-6)  # never charge while it eats shared energy
    assert soc[-1] == pytest.approx(4.0)  # the day ends where the battery's own rule would


def test_cloud_cover_lowers_the_clear_sky_index():
    assert physics.cloud_factor(np.array([0.0]))[0] == pytest.approx(1.0)
    assert physics.cloud_factor(np.array([100.0]))[0] == pytest.approx(0.25)
    assert 0.25 < physics.cloud_factor(np.array([60.0]))[0] < 1.0
