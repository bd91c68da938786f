"""PV production from pvlib, offline and reproducible.

Irradiance model (DOMAIN.md, "Reference loads and production"):

1. Solar position once per site and index (PITFALLS.md: two thirds of PVWatts time).
2. Clear-sky GHI/DNI/DHI: Ineichen with pvlib's bundled Linke turbidity climatology.
3. Clouds: an hourly *clear-sky index* ``kc = GHI / GHI_clear`` measured in the TMY3 file
   pvlib ships (Greensboro NC, 36.1 N, a humid-subtropical climate whose mean kc, ~0.72,
   sits between the Po valley and southern Italy). Each calendar day of the simulation
   borrows the kc profile (by solar hour) of a TMY day within +/-10 days of the same day
   of year; the offset per date comes from the seed, so a community's plants share one
   weather (same seed) and the same seed gives the same year. ``seed=None`` uses the TMY
   days as they are. The cloud *pattern* is Greensboro's; its *depth* is scaled to the
   site's latitude (``cloudiness_factor``, fitted to PVGIS annual GHI for Italy).
4. GHI = kc x GHI_clear, split into beam and diffuse with Erbs, transposed with Hay-Davies.
5. Cell temperature (Faiman) from a synthetic air temperature (annual and daily waves
   that depend on latitude; no site weather is available offline).
6. PVWatts DC (gamma -0.37 %/K), system losses, PVWatts inverter.

Output is the *mean AC power in kW over each interval* [start, start + step): multiply by
the step in hours for the interval's energy in kWh.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pvlib

TMY_FILE = Path(pvlib.__file__).parent / "data" / "723170TYA.CSV"
GAMMA_PDC_PER_K = -0.0037
INVERTER_EFFICIENCY = 0.96
MAX_DAY_OFFSET = 10
_CLEAR_GHI_MIN_W_M2 = 60.0


def _step_hours(index: pd.DatetimeIndex) -> float:
    if len(index) < 2:
        return 1.0
    return (index[1] - index[0]).total_seconds() / 3600.0


def _check_index(index: pd.DatetimeIndex) -> None:
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise ValueError("index must be a timezone-aware pandas DatetimeIndex")


@lru_cache(maxsize=1)
def _tmy_clear_sky_index() -> np.ndarray:
    """kc[day_of_year 0..364, solar hour 0..23] from the bundled TMY3 file."""
    data, meta = pvlib.iotools.read_tmy3(str(TMY_FILE), coerce_year=2021, map_variables=True)
    # TMY3 stamps are hour-ending in local standard time: the hour's midpoint is 30 min before.
    mid = (data.index - pd.Timedelta(minutes=30)).tz_convert("UTC")
    lat, lon, alt = meta["latitude"], meta["longitude"], meta["altitude"]
    solpos = pvlib.solarposition.get_solarposition(mid, lat, lon, altitude=alt)
    airmass = pvlib.atmosphere.get_relative_airmass(solpos["apparent_zenith"])
    am_abs = pvlib.atmosphere.get_absolute_airmass(airmass, pvlib.atmosphere.alt2pres(alt))
    linke = pvlib.clearsky.lookup_linke_turbidity(mid, lat, lon)
    with np.errstate(divide="ignore", invalid="ignore"):
        clear = pvlib.clearsky.ineichen(solpos["apparent_zenith"], am_abs, linke, altitude=alt)
    ghi = data["ghi"].to_numpy(dtype=float)
    ghi_clear = clear["ghi"].fillna(0).to_numpy()
    solar = mid + pd.to_timedelta(lon / 15.0, unit="h")
    day = np.minimum(solar.day_of_year.to_numpy() - 1, 364)
    hour = solar.hour.to_numpy()
    daily_ghi = np.bincount(day, weights=ghi, minlength=365)
    daily_clear = np.bincount(day, weights=ghi_clear, minlength=365)
    daily_kc = np.clip(daily_ghi / np.maximum(daily_clear, 1e-9), 0.02, 1.1)
    table = np.repeat(daily_kc[:, None], 24, axis=1)
    ok = ghi_clear > _CLEAR_GHI_MIN_W_M2
    table[day[ok], hour[ok]] = np.clip(ghi[ok] / ghi_clear[ok], 0.0, 1.25)
    return table


def _day_offsets(seed: int | None, years: np.ndarray, doy: np.ndarray) -> np.ndarray:
    if seed is None:
        return np.zeros_like(doy)
    out = np.empty_like(doy)
    for year in np.unique(years):
        table = np.random.default_rng([int(seed), int(year)]).integers(
            -MAX_DAY_OFFSET, MAX_DAY_OFFSET + 1, size=366
        )
        mask = years == year
        out[mask] = table[doy[mask]]
    return out


def cloudiness_factor(lat: float) -> float:
    """How deep the borrowed clouds are at this latitude, relative to the TMY site (1.0).

    Fitted to the annual GHI of PVGIS-SARAH2 for Palermo (38.1 N, ~1,750 kWh/m2) and
    Bologna (44.5 N, ~1,450 kWh/m2): Mediterranean summers are clearer than Greensboro's
    thunderstorm season. It drifts to ~1 (the TMY's own climate) at 48-49 N (Vienna, Paris).
    """
    return float(np.clip(0.41 + 0.058 * (abs(lat) - 38.1), 0.35, 1.3))


def clear_sky_index(*, lat: float, lon: float, index: pd.DatetimeIndex, seed: int | None) -> np.ndarray:
    """Clear-sky index at each interval midpoint (see the module docstring, step 3)."""
    table = _tmy_clear_sky_index()
    mid = index.tz_convert("UTC") + pd.Timedelta(hours=_step_hours(index) / 2)
    solar = mid + pd.to_timedelta(lon / 15.0, unit="h")
    doy = np.minimum(solar.day_of_year.to_numpy() - 1, 364)
    src = (doy + _day_offsets(seed, solar.year.to_numpy(), doy)) % 365
    frac_hour = solar.hour.to_numpy() + solar.minute.to_numpy() / 60.0 - 0.5
    h0 = np.clip(np.floor(frac_hour).astype(int), 0, 23)
    h1 = np.clip(h0 + 1, 0, 23)
    w = np.clip(frac_hour - np.floor(frac_hour), 0.0, 1.0)
    kc = (1 - w) * table[src, h0] + w * table[src, h1]
    return np.clip(1.0 - cloudiness_factor(lat) * (1.0 - kc), 0.0, 1.25)


def air_temperature_c(*, lat: float, index: pd.DatetimeIndex, lon: float) -> np.ndarray:
    """Synthetic air temperature: ~14.5 C mean at 44.5 N, +/-10 C seasonal, +/-4 C daily."""
    mid = index.tz_convert("UTC") + pd.Timedelta(hours=_step_hours(index) / 2)
    mean = 28.0 - 0.3 * abs(lat)
    doy = mid.day_of_year.to_numpy()
    seasonal = -10.0 * np.cos(2 * np.pi * (doy - 20) / 365.25) * np.sign(lat or 1)
    solar_hour = (mid.hour.to_numpy() + mid.minute.to_numpy() / 60.0 + lon / 15.0) % 24
    daily = 4.0 * np.cos(2 * np.pi * (solar_hour - 15.0) / 24.0)
    return mean + seasonal + daily


@dataclass(frozen=True)
class SiteWeather:
    """Everything that depends on the site only: computed once, shared by its plants."""

    index: pd.DatetimeIndex
    zenith: np.ndarray
    azimuth: np.ndarray
    ghi: np.ndarray
    dni: np.ndarray
    dhi: np.ndarray
    dni_extra: np.ndarray
    temp_air_c: np.ndarray


def site_weather(
    *, lat: float, lon: float, index: pd.DatetimeIndex, seed: int | None, altitude_m: float = 0.0
) -> SiteWeather:
    """Solar position, all-sky irradiance (W/m2) and air temperature at interval midpoints."""
    _check_index(index)
    mid = index.tz_convert("UTC") + pd.Timedelta(hours=_step_hours(index) / 2)
    solpos = pvlib.solarposition.get_solarposition(mid, lat, lon, altitude=altitude_m)
    app_zenith = solpos["apparent_zenith"].to_numpy()
    airmass = pvlib.atmosphere.get_relative_airmass(app_zenith)
    am_abs = pvlib.atmosphere.get_absolute_airmass(airmass, pvlib.atmosphere.alt2pres(altitude_m))
    linke = pvlib.clearsky.lookup_linke_turbidity(mid, lat, lon).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        clear = pvlib.clearsky.ineichen(app_zenith, am_abs, linke, altitude=altitude_m)
    ghi_clear = np.nan_to_num(np.asarray(clear["ghi"], dtype=float))
    kc = clear_sky_index(lat=lat, lon=lon, index=index, seed=seed)
    ghi = kc * ghi_clear
    zenith = solpos["zenith"].to_numpy()
    split = pvlib.irradiance.erbs(ghi, zenith, mid.day_of_year.to_numpy())
    return SiteWeather(
        index=index,
        zenith=zenith,
        azimuth=solpos["azimuth"].to_numpy(),
        ghi=ghi,
        dni=np.nan_to_num(np.asarray(split["dni"], dtype=float)),
        dhi=np.nan_to_num(np.asarray(split["dhi"], dtype=float)),
        dni_extra=np.asarray(pvlib.irradiance.get_extra_radiation(mid.day_of_year.to_numpy()), dtype=float),
        temp_air_c=air_temperature_c(lat=lat, lon=lon, index=index),
    )


def pv_power_from_weather(
    weather: SiteWeather,
    *,
    kwp: float,
    tilt_deg: float,
    azimuth_deg: float,
    losses_pct: float,
    inverter_kw: float | None = None,
) -> pd.Series:
    """PVWatts AC power (kW, interval mean) of one array under a site's weather."""
    poa = pvlib.irradiance.get_total_irradiance(
        tilt_deg,
        azimuth_deg,
        weather.zenith,
        weather.azimuth,
        weather.dni,
        weather.ghi,
        weather.dhi,
        dni_extra=weather.dni_extra,
        model="haydavies",
    )
    aoi = pvlib.irradiance.aoi(tilt_deg, azimuth_deg, weather.zenith, weather.azimuth)
    iam = np.nan_to_num(np.asarray(pvlib.iam.physical(aoi), dtype=float))
    beam = np.nan_to_num(np.asarray(poa["poa_direct"], dtype=float))
    diffuse = np.nan_to_num(np.asarray(poa["poa_diffuse"], dtype=float))
    effective = np.clip(beam * iam + diffuse, 0.0, None)
    temp_cell = pvlib.temperature.faiman(beam + diffuse, weather.temp_air_c, wind_speed=1.5)
    dc_kw = pvlib.pvsystem.pvwatts_dc(effective, temp_cell, kwp, GAMMA_PDC_PER_K)
    dc_kw = np.clip(np.asarray(dc_kw, dtype=float), 0.0, None) * (1.0 - losses_pct / 100.0)
    ac_rating_kw = float(inverter_kw) if inverter_kw else float(kwp)
    ac_kw = pvlib.inverter.pvwatts(dc_kw, ac_rating_kw / INVERTER_EFFICIENCY, eta_inv_nom=INVERTER_EFFICIENCY)
    ac_kw = np.clip(np.nan_to_num(np.asarray(ac_kw, dtype=float)), 0.0, ac_rating_kw)
    return pd.Series(ac_kw, index=weather.index, name="pv_kw")


def pv_power_kw(
    *,
    lat: float,
    lon: float,
    kwp: float,
    tilt_deg: float,
    azimuth_deg: float,
    losses_pct: float,
    index: pd.DatetimeIndex,
    seed: int | None,
    inverter_kw: float | None = None,
) -> pd.Series:
    """Mean AC power (kW) of a PV array in each interval of ``index`` (tz-aware, regular).

    azimuth_deg is a compass bearing (180 = south, pvlib convention); losses_pct are the
    PVWatts system losses (soiling, wiring, mismatch...; 14 is PVWatts' default).
    """
    weather = site_weather(lat=lat, lon=lon, index=index, seed=seed)
    return pv_power_from_weather(
        weather,
        kwp=kwp,
        tilt_deg=tilt_deg,
        azimuth_deg=azimuth_deg,
        losses_pct=losses_pct,
        inverter_kw=inverter_kw,
    )
