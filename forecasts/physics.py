"""Clear-sky PV production at a plant's location and orientation (pvlib), and the
cloud-cover correction applied when a weather forecast is available.

The clear-sky irradiance is pvlib's Ineichen model with its Linke turbidity climatology;
the array model (transposition, IAM, cell temperature, PVWatts DC and inverter, losses) is
the simulation's (`simulation.physics.pv.pv_power_from_weather`), so a forecast and a
simulation of the same plant agree on everything but the sky.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pvlib

from simulation.physics.pv import SiteWeather, air_temperature_c, pv_power_from_weather


def clear_sky_weather(*, lat: float, lon: float, index: pd.DatetimeIndex) -> SiteWeather:
    """Solar position and clear-sky irradiance (W/m2) at the midpoints of `index`'s intervals."""
    step_h = (index[1] - index[0]).total_seconds() / 3600.0 if len(index) > 1 else 1.0
    mid = index.tz_convert("UTC") + pd.Timedelta(hours=step_h / 2)
    location = pvlib.location.Location(lat, lon)
    solpos = location.get_solarposition(mid)
    clear = location.get_clearsky(mid, model="ineichen", solar_position=solpos)
    return SiteWeather(
        index=index,
        zenith=solpos["zenith"].to_numpy(),
        azimuth=solpos["azimuth"].to_numpy(),
        ghi=np.nan_to_num(clear["ghi"].to_numpy(dtype=float)),
        dni=np.nan_to_num(clear["dni"].to_numpy(dtype=float)),
        dhi=np.nan_to_num(clear["dhi"].to_numpy(dtype=float)),
        dni_extra=np.asarray(pvlib.irradiance.get_extra_radiation(mid.day_of_year.to_numpy()), dtype=float),
        temp_air_c=air_temperature_c(lat=lat, lon=lon, index=index),
    )


def clear_sky_kwh(*, weather: SiteWeather, kwp: float, tilt_deg: float, azimuth_deg: float,
                  losses_pct: float, inverter_kw: float | None = None) -> np.ndarray:
    """Energy (kWh) of each interval of `weather.index` under a clear sky."""
    index = weather.index
    step_h = (index[1] - index[0]).total_seconds() / 3600.0 if len(index) > 1 else 1.0
    kw = pv_power_from_weather(weather, kwp=kwp, tilt_deg=tilt_deg, azimuth_deg=azimuth_deg,
                               losses_pct=losses_pct, inverter_kw=inverter_kw)
    return kw.to_numpy() * step_h


def cloud_factor(cloud_cover_pct: np.ndarray) -> np.ndarray:
    """Clear-sky index from total cloud cover (Kasten & Czeplak 1980):
    kc = 1 - 0.75 (N)^3.4, N the cloud cover as a fraction (0..1)."""
    n = np.clip(np.asarray(cloud_cover_pct, dtype=float), 0.0, 100.0) / 100.0
    return 1.0 - 0.75 * n ** 3.4
