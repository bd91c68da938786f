"""Weather forecast providers behind one interface: total cloud cover (%) per hour.

`WEATHER_PROVIDER` chooses one: "" (off, the default: forecasts use the learned model
only), "open-meteo" (no key) or "openweathermap" (`WEATHER_API_KEY`, the 5 day / 3 hour
forecast, interpolated to hours). `WEATHER_BASE_URL` overrides the provider's URL (tests
serve recorded payloads on loopback; nothing reaches the network in tests or the demo).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

import numpy as np
import requests
from django.conf import settings


class WeatherUnavailable(Exception):
    """The provider did not answer with a usable forecast (the caller goes on without)."""


class WeatherProvider(Protocol):
    name: str

    def cloud_cover(self, *, lat: float, lon: float, start: datetime, hours: int) -> np.ndarray:
        """Cloud cover (%) for each hour [start + h, start + h + 1) (UTC), NaN where unknown."""


def _get(url: str, params: dict) -> dict:
    try:
        response = requests.get(url, params=params, timeout=settings.WEATHER_TIMEOUT_S)
        response.raise_for_status()
        body = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise WeatherUnavailable(str(exc)) from None
    if not isinstance(body, dict):
        raise WeatherUnavailable("unexpected payload")
    return body


def _on_hours(times: list[datetime], values: list[float], start: datetime, hours: int) -> np.ndarray:
    """Linear interpolation of (time, value) onto the hours' midpoints; NaN outside the data."""
    if not times:
        return np.full(hours, np.nan)
    x = np.array([t.timestamp() for t in times])
    y = np.array(values, dtype=float)
    order = np.argsort(x)
    mids = np.array([(start + timedelta(hours=h, minutes=30)).timestamp() for h in range(hours)])
    return np.interp(mids, x[order], y[order], left=np.nan, right=np.nan)


class OpenMeteo:
    name = "open-meteo"
    url = "https://api.open-meteo.com/v1/forecast"

    def __init__(self, base_url: str = ""):
        self.url = base_url or self.url

    def cloud_cover(self, *, lat, lon, start, hours):
        body = _get(self.url, {"latitude": f"{lat:.4f}", "longitude": f"{lon:.4f}",
                               "hourly": "cloud_cover", "timezone": "UTC", "forecast_days": 3})
        try:
            hourly = body["hourly"]
            # Open-Meteo stamps an hourly value at the start of its hour: move it to the midpoint
            times = [datetime.fromisoformat(t).replace(tzinfo=UTC) + timedelta(minutes=30)
                     for t in hourly["time"]]
            values = [np.nan if v is None else float(v) for v in hourly["cloud_cover"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise WeatherUnavailable(f"unexpected Open-Meteo payload: {exc}") from None
        return _on_hours(times, values, start, hours)


class OpenWeatherMap:
    name = "openweathermap"
    url = "https://api.openweathermap.org/data/2.5/forecast"

    def __init__(self, api_key: str, base_url: str = ""):
        self.api_key = api_key
        self.url = base_url or self.url

    def cloud_cover(self, *, lat, lon, start, hours):
        body = _get(self.url, {"lat": f"{lat:.4f}", "lon": f"{lon:.4f}", "appid": self.api_key})
        try:
            # each entry is a 3-hour step stamped at its start: its midpoint is 1.5 h later
            times = [datetime.fromtimestamp(int(item["dt"]), tz=UTC) + timedelta(minutes=90)
                     for item in body["list"]]
            values = [float(item["clouds"]["all"]) for item in body["list"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise WeatherUnavailable(f"unexpected OpenWeatherMap payload: {exc}") from None
        return _on_hours(times, values, start, hours)


def provider() -> WeatherProvider | None:
    """The configured provider, or None when weather forecasts are off."""
    name = settings.WEATHER_PROVIDER
    if name == "open-meteo":
        return OpenMeteo(settings.WEATHER_BASE_URL)
    if name == "openweathermap":
        return OpenWeatherMap(settings.WEATHER_API_KEY, settings.WEATHER_BASE_URL)
    return None
