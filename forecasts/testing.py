"""Synthetic telemetry for tests, the benchmark and the demo: hourly counter readings written
through the one ingest path (`iot.ingest.service.ingest`), then rolled up.

Each hour's energy is written as a register reading 1 second before the hour ends, so the
rollups (a register difference belongs to the bucket of the later reading) put it in its
own hour.
"""

from __future__ import annotations

import zlib
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd

from forecasts import physics
from simulation.physics import load_kw

SKY_EPOCH = date(2020, 1, 1)  # the daily process starts here, so a day's sky never depends on a window
SKY_MEAN_KC, SKY_SPREAD_KC = 0.72, 0.22  # all-sky / clear-sky yield, mean and spread of a day
SKY_DAY_TO_DAY = 0.3  # lag-1 autocorrelation of the daily clearness index (~0.3 in the literature)
SKY_HOUR_TO_HOUR = 0.7  # within a day, passing clouds persist an hour or two


def _day_levels(seed: int, first: date, days: int) -> np.ndarray:
    """The AR(1) daily weather level for `days` days from `first`, run from SKY_EPOCH."""
    begin = (first - SKY_EPOCH).days
    total = max(0, begin) + days
    shocks = np.random.default_rng(seed).normal(0.0, 1.0, total)
    level, out = 0.0, np.empty(total)
    for d in range(total):
        level = SKY_DAY_TO_DAY * level + shocks[d]
        out[d] = level
    return out[total - days:]


def sky_clearness(*, region: str, start: datetime, hours: int, site: str = "") -> np.ndarray:
    """Hourly clear-sky index (all-sky / clear-sky irradiance) of a region, a pure function of
    the UTC hour and the region's name: every plant of a town sees the same weather, and the
    same hour always has the same sky whatever window asks for it.

    A day's level is an AR(1) day to day (SKY_DAY_TO_DAY: a clear spell lasts a little, most
    days are new weather); within the day passing clouds move the hourly index around it, an
    AR(1) hour to hour whose spread is largest on broken-cloud days (kc (1 - kc)) and nil
    under a clear or a uniformly overcast sky. A `site` (a plant a few km from the others)
    sees its own few per cent on top, hour by hour."""
    start = start.astimezone(UTC)
    first = start.date()
    offset = start.hour
    days = (offset + hours) // 24 + 1
    seed = zlib.crc32(f"sky-{region}".encode())
    site_seed = zlib.crc32(f"sky-{region}-{site}".encode())
    day_kc = np.clip(SKY_MEAN_KC + SKY_SPREAD_KC * _day_levels(seed, first, days), 0.15, 1.0)
    out = np.empty(days * 24)
    for d in range(days):
        ordinal = (first + timedelta(days=d)).toordinal()
        shocks = np.random.default_rng([seed, ordinal]).normal(0.0, 1.0, 24)
        dev, devs = 0.0, np.empty(24)
        for h in range(24):
            dev = SKY_HOUR_TO_HOUR * dev + np.sqrt(1 - SKY_HOUR_TO_HOUR ** 2) * shocks[h]
            devs[h] = dev
        kc = day_kc[d]
        own = (np.random.default_rng([site_seed, ordinal]).normal(1.0, 0.04, 24).clip(0.9, 1.1)
               if site else 1.0)
        out[d * 24:(d + 1) * 24] = np.clip((kc + 0.8 * kc * (1 - kc) * devs) * own, 0.05, 1.1)
    return out[offset:offset + hours]


def truth_production(*, lat: float, lon: float, kwp: float, start: datetime, hours: int, seed: int,
                     ratio: float = 0.85, morning_shade: float = 1.0, tilt_deg: float = 30.0,
                     azimuth_deg: float = 180.0, losses_pct: float = 14.0,
                     clearness: np.ndarray | None = None) -> np.ndarray:
    """Hourly kWh: clear sky x the sky's clear-sky index x the plant's own ratio, with mornings
    (before 10:00 UTC) multiplied by `morning_shade` (a tree, a roof). The index is
    `clearness` (hourly, e.g. `sky_clearness` at the plant), or without it a day's cloudiness
    (an AR(1) day to day) of the plant's own."""
    index = pd.date_range(start, periods=hours, freq="1h")
    clear = physics.clear_sky_kwh(weather=physics.clear_sky_weather(lat=lat, lon=lon, index=index),
                                  kwp=kwp, tilt_deg=tilt_deg, azimuth_deg=azimuth_deg,
                                  losses_pct=losses_pct)
    rng = np.random.default_rng(seed)
    if clearness is not None:
        kc = np.asarray(clearness, dtype=float)[:hours]
    else:
        days = hours // 24 + 1
        day_kc, level = np.empty(days), 0.0
        for d in range(days):  # cloudiness: persistent a little, mostly new each day
            level = SKY_DAY_TO_DAY * level + rng.normal(0, 1)
            day_kc[d] = float(np.clip(SKY_MEAN_KC + SKY_SPREAD_KC * level, 0.15, 1.0))
        kc = np.repeat(day_kc, 24)[:hours] * rng.normal(1.0, 0.05, hours).clip(0.8, 1.2)
    shade = np.where(index.hour < 10, morning_shade, 1.0)
    return clear * kc * ratio * shade


def truth_consumption(*, annual_kwh: float, start: datetime, hours: int, seed: int,
                      profile: str = "H0") -> np.ndarray:
    index = pd.date_range(start, periods=hours, freq="1h")
    return load_kw(profile=profile, annual_kwh=annual_kwh, index=index, seed=seed).to_numpy()


def readings(serial: str, metric: str, start: datetime, hourly_kwh: np.ndarray, register: float = 1000.0
             ) -> list[dict]:
    out = [{"device": serial, "metric": metric,
            "ts": (start - timedelta(seconds=1)).isoformat(), "value": register}]
    for h, kwh in enumerate(hourly_kwh):
        register += float(max(kwh, 0.0))
        ts = start + timedelta(hours=h + 1) - timedelta(seconds=1)
        out.append({"device": serial, "metric": metric, "ts": ts.isoformat(), "value": round(register, 5)})
    return out


def write(items: list[dict]) -> None:
    """Ingest and roll up (partitions ensured for the months the readings span)."""
    from iot.ingest.partitions import partitions_ensure
    from iot.ingest.service import ingest
    from iot.rollups.service import rollup_run

    stamps = sorted({item["ts"][:7] for item in items})
    for month in stamps:
        partitions_ensure(today=datetime.fromisoformat(month + "-15").date(), months_back=1, months_ahead=1)
    for k in range(0, len(items), 20_000):
        result = ingest(items[k:k + 20_000], source="test")
        if result.rejected:
            raise ValueError(f"readings refused: {result.errors[:3]}")
    rollup_run()
