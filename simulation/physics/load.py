"""Standard load profiles (BDEW H0, G0..G6, L0..L2) scaled to an annual consumption.

The profile data is demandlib's bundled BDEW table (``bdew_data/selp_series.csv``: W per
1,000 kWh/a for each quarter hour of a workday, Saturday and Sunday in winter, summer and
transition). demandlib 0.2.2's ``ElecSlp`` cannot be used as is: it calls
``warnings.simplefilter("error")`` process-wide and then trips over a pandas 3 deprecation
warning, so this module reads the same table and applies the same BDEW rules (seasons,
holidays as Sundays, the H0 dynamisation polynomial) vectorised, in local time.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from dateutil.easter import easter

PROFILES = ("H0", "G0", "G1", "G2", "G3", "G4", "G5", "G6", "L0", "L1", "L2")
_SEASONS = {"winter": 0, "transition": 1, "summer": 2}


def _bdew_table_path() -> Path:
    import demandlib.bdew

    return Path(demandlib.bdew.__file__).parent / "bdew_data" / "selp_series.csv"


@lru_cache(maxsize=1)
def _bdew_table() -> dict[str, np.ndarray]:
    """{profile: array[season 0..2, daytype 0..2 (workday, saturday, sunday), quarter 0..95]}."""
    raw = pd.read_csv(_bdew_table_path())
    season = raw["period"].map(_SEASONS).to_numpy()
    weekday = raw["weekday"].to_numpy()
    daytype = np.where(weekday == 7, 2, np.where(weekday == 6, 1, 0))
    quarter = np.tile(np.arange(96), len(raw) // 96)
    out = {}
    for name in PROFILES:
        table = np.zeros((3, 3, 96))
        table[season, daytype, quarter] = raw[name.lower()].to_numpy(dtype=float)
        out[name] = table
    return out


def national_holidays(year: int, country: str = "IT") -> set[date]:
    """Public holidays treated as Sundays by the BDEW method."""
    e = easter(year)
    fixed = {
        "IT": [(1, 1), (1, 6), (4, 25), (5, 1), (6, 2), (8, 15), (11, 1), (12, 8), (12, 25), (12, 26)],
        "FR": [(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)],
        "AT": [(1, 1), (1, 6), (5, 1), (8, 15), (10, 26), (11, 1), (12, 8), (12, 25), (12, 26)],
    }.get(country, [(1, 1), (12, 25)])
    days = {date(year, m, d) for m, d in fixed}
    days.add(e + timedelta(days=1))  # Easter Monday everywhere above
    if country in ("FR", "AT"):
        days |= {e + timedelta(days=39), e + timedelta(days=50)}  # Ascension, Whit Monday
    if country == "AT":
        days.add(e + timedelta(days=60))  # Corpus Christi
    return days


def _season_of(month: np.ndarray, day: np.ndarray) -> np.ndarray:
    md = month * 100 + day
    summer = (md >= 515) & (md <= 914)
    transition = ((md >= 321) & (md <= 514)) | ((md >= 915) & (md <= 1031))
    return np.where(summer, 2, np.where(transition, 1, 0))


@lru_cache(maxsize=64)
def year_shares(profile: str, year: int, country: str = "IT") -> np.ndarray:
    """Quarter-hour shares of the annual energy for one local calendar year (sum = 1)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown load profile {profile!r}; expected one of {', '.join(PROFILES)}")
    idx = pd.date_range(f"{year}-01-01", f"{year + 1}-01-01", freq="15min", inclusive="left")
    holidays = national_holidays(year, country)
    is_holiday = np.array([d in holidays for d in idx.date[::96]]).repeat(96)
    weekday = idx.day_of_week.to_numpy()
    daytype = np.where(is_holiday | (weekday == 6), 2, np.where(weekday == 5, 1, 0))
    season = _season_of(idx.month.to_numpy(), idx.day.to_numpy())
    quarter = idx.hour.to_numpy() * 4 + idx.minute.to_numpy() // 15
    values = _bdew_table()[profile][season, daytype, quarter]
    if profile == "H0":
        # BDEW dynamisation of H0 (demandlib's normalised coefficients), t = day of year.
        t = np.arange(len(idx)) / 96.0 + 1 / 96.0
        values = values * (-3.916649251e-10 * t**4 + 3.2e-7 * t**3 - 7.02e-5 * t**2 + 0.0021 * t + 1.24)
    return values / values.sum()


def _noise(n: int, seed: int, sigma: float = 0.25, rho: float = 0.8) -> np.ndarray:
    """Mean-one AR(1) multiplicative noise: one household is not the average of thousands."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    eps = rng.normal(0.0, sigma * np.sqrt(1 - rho**2), n)
    factor = np.exp(lfilter([1.0], [1.0, -rho], eps))
    return factor / factor.mean()


def load_kw(
    *,
    profile: str,
    annual_kwh: float,
    index: pd.DatetimeIndex,
    seed: int | None,
    time_zone: str = "Europe/Rome",
    country: str = "IT",
) -> pd.Series:
    """Mean power (kW) of a consumer in each interval of ``index`` (tz-aware, regular step).

    The BDEW profile is applied in local time (``time_zone``): a year of the series holds
    ``annual_kwh`` (up to the DST hour). ``seed`` adds reproducible member-to-member
    variability (mean-preserving); ``None`` gives the pure standard profile.
    """
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise ValueError("index must be a timezone-aware pandas DatetimeIndex")
    if annual_kwh < 0:
        raise ValueError("annual_kwh must not be negative")
    step = index[1] - index[0] if len(index) > 1 else pd.Timedelta(hours=1)
    quarters_per_step = max(1, int(step / pd.Timedelta(minutes=15)))
    grid = pd.date_range(index[0], periods=len(index) * quarters_per_step, freq="15min").tz_convert(time_zone)
    local = grid.tz_localize(None)
    years = local.year.to_numpy()
    pos = ((local - pd.to_datetime(years.astype(str), format="%Y")) / pd.Timedelta(minutes=15)).to_numpy()
    pos = pos.astype(np.int64)
    shares = np.empty(len(grid))
    for year in np.unique(years):
        mask = years == year
        table = year_shares(profile, int(year), country)
        shares[mask] = table[np.minimum(pos[mask], len(table) - 1)]
    energy_kwh = (annual_kwh * shares).reshape(len(index), quarters_per_step).sum(axis=1)
    power_kw = energy_kwh / (step / pd.Timedelta(hours=1))
    if seed is not None and len(index) > 1:
        power_kw = power_kw * _noise(len(index), seed)
    return pd.Series(power_kw, index=index, name="load_kw")
