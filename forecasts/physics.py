"""Clear-sky PV production at a plant's location and orientation (pvlib), and the
cloud-cover correction applied when a weather forecast is available.

The clear-sky irradiance is pvlib's Ineichen model with its Linke turbidity climatology;
the array model (transposition, IAM, cell temperature, PVWatts DC and inverter, losses) is
the simulation's (`simulation.physics.pv.pv_power_from_weather`), so a forecast and a
simulation of the same plant agree on everything but the sky.

`clear_sky_sites` computes the same for many sites at once: pvlib's own functions, fed
arrays of (sites, times). The solar position's terms that depend on time only (the
ephemeris, ~two thirds of NREL's SPA) are computed once for all sites instead of once per
site, and the two climatologies pvlib reads from HDF5 files on every call (altitude, Linke
turbidity, both on a 5' grid) are read once per grid cell. Every value is the one
`clear_sky_weather` gives site by site, elementwise the same operations
(`forecasts/tests/test_models_pure.py` checks it against pvlib's own call).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pvlib
from pvlib import atmosphere, clearsky, irradiance, solarposition
from pvlib.tools import _degrees_to_index

from simulation.physics.pv import SiteWeather, air_temperature_c, pv_power_from_weather

# pvlib's defaults in Location.get_solarposition / solarposition.spa_python
_SPA_TEMPERATURE_C = 12.0
_SPA_DELTA_T_S = 67.0
_SPA_REFRACTION_DEG = 0.5667


def _mid(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    step_h = (index[1] - index[0]).total_seconds() / 3600.0 if len(index) > 1 else 1.0
    return index.tz_convert("UTC") + pd.Timedelta(hours=step_h / 2)


def clear_sky_weather(*, lat: float, lon: float, index: pd.DatetimeIndex) -> SiteWeather:
    """Solar position and clear-sky irradiance (W/m2) at the midpoints of `index`'s intervals."""
    mid = _mid(index)
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


def _cell(lat: float, lon: float) -> tuple[int, int]:
    """The cell of pvlib's 5' climatology grids (Altitude.h5, LinkeTurbidities.h5)."""
    return (int(_degrees_to_index(lat, coordinate="latitude")),
            int(_degrees_to_index(lon, coordinate="longitude")))


def clear_sky_sites(*, sites: list[tuple[float, float]], index: pd.DatetimeIndex) -> list[SiteWeather]:
    """`clear_sky_weather` of each (lat, lon) in `sites`, computed together (same values)."""
    if not sites:
        return []
    mid = _mid(index)
    lat = np.array([s[0] for s in sites], dtype=float)[:, None]
    lon = np.array([s[1] for s in sites], dtype=float)[:, None]
    cells = [_cell(a, b) for a, b in sites]
    first = {}
    for k, cell in enumerate(cells):
        first.setdefault(cell, k)
    altitude_of = {cell: pvlib.location.lookup_altitude(sites[k][0], sites[k][1])
                   for cell, k in first.items()}
    linke_of = {cell: clearsky.lookup_linke_turbidity(mid, sites[k][0], sites[k][1]).to_numpy(dtype=float)
                for cell, k in first.items()}
    altitude = np.array([altitude_of[c] for c in cells], dtype=float)[:, None]
    pressure_pa = atmosphere.alt2pres(altitude)
    spa = solarposition._spa_python_import("numpy")
    app_zenith, zenith, _, _, azimuth, _ = spa.solar_position(
        solarposition._datetime_to_unixtime(mid), lat, lon, altitude, pressure_pa / 100,
        _SPA_TEMPERATURE_C, _SPA_DELTA_T_S, _SPA_REFRACTION_DEG)
    extra = np.asarray(irradiance.get_extra_radiation(mid), dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):  # at night, as pandas does silently
        airmass = atmosphere.get_absolute_airmass(atmosphere.get_relative_airmass(app_zenith), pressure_pa)
        clear = clearsky.ineichen(app_zenith, airmass, np.stack([linke_of[c] for c in cells]),
                                  altitude=altitude, dni_extra=extra)
    dni_extra = np.asarray(irradiance.get_extra_radiation(mid.day_of_year.to_numpy()), dtype=float)
    return [SiteWeather(index=index, zenith=zenith[k], azimuth=azimuth[k],
                        ghi=np.nan_to_num(clear["ghi"][k]), dni=np.nan_to_num(clear["dni"][k]),
                        dhi=np.nan_to_num(clear["dhi"][k]), dni_extra=dni_extra,
                        temp_air_c=air_temperature_c(lat=a, lon=b, index=index))
            for k, (a, b) in enumerate(sites)]


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
