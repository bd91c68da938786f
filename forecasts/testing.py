"""Synthetic telemetry for tests, the benchmark and the demo: hourly counter readings written
through the one ingest path (`iot.ingest.service.ingest`), then rolled up.

Each hour's energy is written as a register reading 1 second before the hour ends, so the
rollups (a register difference belongs to the bucket of the later reading) put it in its
own hour.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from forecasts import physics
from simulation.physics import load_kw


def truth_production(*, lat: float, lon: float, kwp: float, start: datetime, hours: int, seed: int,
                     ratio: float = 0.85, morning_shade: float = 1.0, tilt_deg: float = 30.0,
                     azimuth_deg: float = 180.0, losses_pct: float = 14.0) -> np.ndarray:
    """Hourly kWh: clear sky x a day's cloudiness (an AR(1) day to day) x the plant's own ratio,
    with mornings (before 10:00 UTC) multiplied by `morning_shade` (a tree, a roof)."""
    index = pd.date_range(start, periods=hours, freq="1h")
    clear = physics.clear_sky_kwh(weather=physics.clear_sky_weather(lat=lat, lon=lon, index=index),
                                  kwp=kwp, tilt_deg=tilt_deg, azimuth_deg=azimuth_deg,
                                  losses_pct=losses_pct)
    rng = np.random.default_rng(seed)
    days = hours // 24 + 1
    kc, level = np.empty(days), 0.0
    for d in range(days):  # cloudiness: persistent a little, mostly new each day
        level = 0.3 * level + rng.normal(0, 1)
        kc[d] = float(np.clip(0.72 + 0.22 * level, 0.15, 1.0))
    day_kc = np.repeat(kc, 24)[:hours] * rng.normal(1.0, 0.05, hours).clip(0.8, 1.2)
    shade = np.where(index.hour < 10, morning_shade, 1.0)
    return clear * day_kc * ratio * shade


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
