"""Prices: ARERA time-of-use bands and a synthetic hourly zonal price (EUR/MWh)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulation.physics.load import national_holidays


def tou_band(index: pd.DatetimeIndex, *, time_zone: str, country: str = "IT") -> np.ndarray:
    """ARERA bands in local time: F1 Mon-Fri 8-19; F2 Mon-Fri 7-8 and 19-23, Sat 7-23;
    F3 the other hours, Sundays and public holidays."""
    local = index.tz_convert(time_zone)
    hour = local.hour.to_numpy()
    weekday = local.day_of_week.to_numpy()
    years = set(local.year)
    holidays = set().union(*(national_holidays(y, country) for y in years))
    holiday = np.array([d in holidays for d in local.date])
    workday = (weekday < 5) & ~holiday
    saturday = (weekday == 5) & ~holiday
    f1 = workday & (hour >= 8) & (hour < 19)
    f2 = (workday & ((hour == 7) | ((hour >= 19) & (hour < 23)))) | (saturday & (hour >= 7) & (hour < 23))
    return np.where(f1, "F1", np.where(f2, "F2", "F3"))


def synthetic_zonal_price(
    index: pd.DatetimeIndex, *, time_zone: str, seed: int, mean_eur_per_mwh: float = 110.0
) -> np.ndarray:
    """A realistic-looking day-ahead price: evening peak, solar dip at midday (stronger in
    spring and summer), weekend discount, winter premium, AR(1) noise; seeded.

    Shape only: use a real series (upload ``zonal_price_eur_per_mwh``) for real figures.
    """
    local = index.tz_convert(time_zone)
    hour = local.hour.to_numpy() + local.minute.to_numpy() / 60.0
    doy = local.day_of_year.to_numpy()
    summerness = 0.5 - 0.5 * np.cos(2 * np.pi * (doy - 15) / 365.25)  # 0 in Jan, 1 in Jul
    evening = np.exp(-((hour - 19.5) ** 2) / 4.0)
    morning = np.exp(-((hour - 8.0) ** 2) / 3.0)
    solar_dip = np.exp(-((hour - 13.0) ** 2) / 6.0) * (0.15 + 0.35 * summerness)
    shape = 1.0 + 0.35 * evening + 0.15 * morning - solar_dip + 0.10 * (1 - summerness)
    weekend = np.where(local.day_of_week.to_numpy() >= 5, 0.88, 1.0)
    rng = np.random.default_rng([int(seed), 7919])
    days = (local.normalize() - local.normalize()[0]).days.to_numpy()
    daily = rng.normal(0.0, 0.12, days.max() + 1)
    daily = np.convolve(daily, np.ones(3) / 3, mode="same")[days]
    hourly = rng.normal(0.0, 0.05, len(index))
    price = mean_eur_per_mwh * shape * weekend * (1.0 + daily + hourly)
    return np.round(price / price.mean() * mean_eur_per_mwh, 2)


def buy_price_eur_per_kwh(bands: np.ndarray, prices: dict[str, float]) -> np.ndarray:
    out = np.zeros(len(bands))
    for band in ("F1", "F2", "F3"):
        out[bands == band] = float(prices.get(band, prices.get("F1", 0.0)))
    return out
