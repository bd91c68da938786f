"""Issuing a community's forecasts: production per plant, consumption per metering point,
and the community's production, consumption and shared energy with an uncertainty band.

`forecast_issue` is the one service: Celery beat (morning and midday) and
`manage.py forecast --community SLUG` call it. See `learn.py` for the models.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from forecasts import calendar, learn, measured, physics, uncertainty
from forecasts.models import Forecast, Quantity, SubjectKind
from forecasts.weather import WeatherUnavailable, provider

logger = logging.getLogger("commonwatt.forecasts")

DEFAULT_ANNUAL_KWH = 2700.0  # an Italian household (ARERA's reference consumer)
CLEAR_DAY_PERCENTILE = 90
SHARED_METHOD = "E[min(production, consumption)], normal errors"


@dataclass
class Horizon:
    issued_at: datetime
    start: datetime  # first forecast interval (= end of the history)
    step_minutes: int
    steps: int
    history_start: datetime
    history_steps: int
    time_zone: str

    @property
    def steps_per_day(self) -> int:
        return 24 * 60 // self.step_minutes

    @property
    def step_h(self) -> float:
        return self.step_minutes / 60.0


@dataclass
class Issued:
    """What one issue produced (arrays in kWh per interval)."""

    horizon: Horizon
    plant_ids: list[int] = field(default_factory=list)
    plant_kwh: np.ndarray | None = None
    plant_methods: list[str] = field(default_factory=list)
    meter_ids: list[int] = field(default_factory=list)
    meter_kwh: np.ndarray | None = None
    meter_methods: list[str] = field(default_factory=list)
    production: np.ndarray | None = None
    consumption: np.ndarray | None = None
    shared: np.ndarray | None = None
    bands: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)


def horizon_for(community, issued_at: datetime | None = None, hours: int | None = None) -> Horizon:
    issued_at = (issued_at or timezone.now()).replace(microsecond=0)
    minutes = calendar.step_minutes_of(community)
    start = calendar.floor_step(issued_at, minutes)
    hours = hours or settings.FORECAST_HORIZON_HOURS
    day0 = start.replace(hour=0, minute=0) - timedelta(days=settings.FORECAST_HISTORY_DAYS)
    return Horizon(issued_at=issued_at, start=start, step_minutes=minutes, steps=hours * 60 // minutes,
                   history_start=day0, history_steps=int((start - day0).total_seconds() // (minutes * 60)),
                   time_zone=community.time_zone)


# --- production -------------------------------------------------------------------------

def _plants(community):
    from plants.models import Plant, PlantStatus

    return list(Plant.objects.filter(community=community).exclude(status=PlantStatus.DECOMMISSIONED)
                .order_by("pk"))


def _devices_by(field_name: str, ids: list[int], kinds: tuple[str, ...]) -> list[list[int]]:
    from iot.models import Device

    by = defaultdict(list)
    for device_id, owner in (Device.objects.filter(**{f"{field_name}__in": ids}, kind__in=kinds)
                             .values_list("id", field_name)):
        by[owner].append(device_id)
    return [by[i] for i in ids]


def _clear_sky(plants, index) -> np.ndarray:
    """(plants, len(index)) clear-sky kWh; solar position once per site (PITFALLS.md), all
    sites at once (`physics.clear_sky_sites`)."""
    keys = [(round(plant.location.y, 3), round(plant.location.x, 3)) for plant in plants]
    sites = list(dict.fromkeys(keys))
    weather = dict(zip(sites, physics.clear_sky_sites(sites=sites, index=index), strict=True))
    out = np.zeros((len(plants), len(index)))
    for k, plant in enumerate(plants):
        out[k] = physics.clear_sky_kwh(
            weather=weather[keys[k]], kwp=float(plant.capacity_kwp), tilt_deg=float(plant.tilt_deg),
            azimuth_deg=float(plant.azimuth_deg), losses_pct=float(plant.losses_pct),
            inverter_kw=float(plant.inverter_power_kw) if plant.inverter_power_kw else None)
    return out


def _cloud_factors(plants, h: Horizon) -> dict[int, np.ndarray]:
    """{plant index: kc per horizon interval} from the configured weather provider."""
    weather = provider()
    if weather is None or not plants:
        return {}
    hours = -(-h.steps * h.step_minutes // 60)
    per_site: dict = {}
    out = {}
    for k, plant in enumerate(plants):
        key = (round(plant.location.y, 2), round(plant.location.x, 2))
        if key not in per_site:
            try:
                per_site[key] = weather.cloud_cover(lat=key[0], lon=key[1], start=h.start, hours=hours)
            except WeatherUnavailable as exc:
                logger.warning("weather forecast unavailable (%s): %s", weather.name, exc)
                per_site[key] = None
        cover = per_site[key]
        if cover is not None:
            per_step = np.repeat(cover, 60 // h.step_minutes)[: h.steps]
            out[k] = physics.cloud_factor(per_step)  # NaN where the provider had no value
    return out


def production_forecast(plants, h: Horizon) -> tuple[np.ndarray, list[str], np.ndarray]:
    """(plants, steps) kWh, the method of each plant, and the community residuals."""
    n = len(plants)
    if not n:
        return np.zeros((0, h.steps)), [], np.array([])
    index = calendar.grid(h.history_start, h.history_steps + h.steps, h.step_minutes)
    clear = _clear_sky(plants, index)
    kwp = np.array([float(p.capacity_kwp) for p in plants])[:, None]
    hist = measured.energy_matrix(
        devices_by_subject=_devices_by("plant", [p.pk for p in plants], ("inverter", "meter")),
        metric=measured.PRODUCED, start=h.history_start, steps=h.history_steps,
        step_minutes=h.step_minutes)
    cal = calendar.features(index, h.time_zone)
    t = h.history_steps
    clear_pk = clear / kwp
    fit, next_pr, long_pr = learn.fit_production(
        clear_per_kwp=clear_pk[:, :t], measured_per_kwp=hist / kwp, hour=cal["hour"][:t],
        doy=cal["doy"][:t], steps_per_day=h.steps_per_day)
    has_history = (~np.isnan(hist)).sum(axis=1) >= h.steps_per_day
    learned = learn.predict_production(
        fit, clear_per_kwp=clear_pk[:, t:], hour=cal["hour"][t:], doy=cal["doy"][t:],
        next_pr=next_pr, long_pr=long_pr) * kwp
    methods = ["clear-sky x gbm" if fit.model is not None and has_history[k]
               else "clear-sky x recent ratio" if has_history[k] else "clear-sky x default ratio"
               for k in range(n)]
    out = np.where(has_history[:, None] | (fit.model is None), learned,
                   clear[:, t:] * learn.DEFAULT_CLEAR_SKY_RATIO)
    factors = _cloud_factors(plants, h)
    if factors:
        ratios = learn.daily_ratio(hist / kwp, clear_pk[:, :t], h.steps_per_day)
        for k, kc in factors.items():
            seen = ratios[k][np.isfinite(ratios[k])]
            clear_day = np.percentile(seen, CLEAR_DAY_PERCENTILE) if len(seen) else 0.95
            weathered = clear[k, t:] * kc * float(np.clip(clear_day, 0.3, 1.1))
            out[k] = np.where(np.isnan(weathered), out[k], weathered)
            methods[k] = "clear-sky x weather"
    return out, methods, fit.rel_residuals


# --- consumption ------------------------------------------------------------------------

def _metering_points(community):
    from communities.models import MeteringPoint

    return list(MeteringPoint.objects.filter(membership__community=community,
                                             membership__left_at__isnull=True).order_by("pk"))


def _profiles_of(meter_ids: list[int]) -> dict[int, dict]:
    from iot.models import Device

    out: dict[int, dict] = {}
    for mp_id, conn in (Device.objects.filter(metering_point_id__in=meter_ids, kind="meter")
                        .values_list("metering_point_id", "connection")):
        if isinstance(conn, dict) and mp_id not in out:
            out[mp_id] = conn
    return out


def _bdew(profile: str, h: Horizon, cache: dict) -> np.ndarray:
    """kWh per interval of 1 kWh/year of `profile` over the horizon (cached per profile)."""
    from simulation.physics import PROFILES, load_kw

    profile = profile if profile in PROFILES else "H0"
    if profile not in cache:
        index = calendar.grid(h.start, h.steps, h.step_minutes)
        cache[profile] = load_kw(profile=profile, annual_kwh=1.0, index=index, seed=None,
                                 time_zone=h.time_zone).to_numpy() * h.step_h
    return cache[profile]


def consumption_forecast(meter_ids: list[int], h: Horizon) -> tuple[np.ndarray, list[str], np.ndarray]:
    n = len(meter_ids)
    if not n:
        return np.zeros((0, h.steps)), [], np.array([])
    hist = measured.energy_matrix(
        devices_by_subject=_devices_by("metering_point", meter_ids, ("meter",)),
        metric=measured.IMPORTED, start=h.history_start, steps=h.history_steps,
        step_minutes=h.step_minutes)
    index = calendar.grid(h.history_start, h.history_steps + h.steps, h.step_minutes)
    cal = calendar.features(index, h.time_zone)
    t = h.history_steps
    fit = learn.fit_consumption(history=hist, hour=cal["hour"][:t], dow=cal["dow"][:t],
                                holiday=cal["holiday"][:t], doy=cal["doy"][:t],
                                steps_per_day=h.steps_per_day)
    out = learn.predict_consumption(fit, history=hist, hour=cal["hour"][t:], dow=cal["dow"][t:],
                                    holiday=cal["holiday"][t:], doy=cal["doy"][t:],
                                    steps_per_day=h.steps_per_day)
    methods = ["gbm"] * n
    missing = np.flatnonzero(np.isnan(out).any(axis=1))
    if len(missing):
        profiles, cache = _profiles_of([meter_ids[i] for i in missing]), {}
        steps_per_year = 365 * h.steps_per_day
        for i in missing:
            conn = profiles.get(meter_ids[i], {})
            seen = hist[i][~np.isnan(hist[i])]
            if len(seen) >= h.steps_per_day:  # a few days measured: scale to what was seen
                annual, how = float(seen.mean()) * steps_per_year, "measured"
            else:
                try:
                    annual, how = float(conn.get("annual_kwh") or DEFAULT_ANNUAL_KWH), "declared"
                except (TypeError, ValueError):
                    annual, how = DEFAULT_ANNUAL_KWH, "default"
            profile = str(conn.get("profile") or "H0")
            out[i] = _bdew(profile, h, cache) * annual
            methods[i] = f"bdew-{profile.lower()} x {how} annual"
    return out, methods, fit.rel_residuals


# --- the service ------------------------------------------------------------------------

def forecast_compute(*, community, issued_at: datetime | None = None, hours: int | None = None) -> Issued:
    """Compute without storing (the benchmark and `forecast_issue` call it)."""
    h = horizon_for(community, issued_at, hours)
    issued = Issued(horizon=h)
    began = time.perf_counter()
    plants = _plants(community)
    issued.plant_ids = [p.pk for p in plants]
    issued.plant_kwh, issued.plant_methods, prod_res = production_forecast(plants, h)
    issued.seconds["production"] = round(time.perf_counter() - began, 3)
    began = time.perf_counter()
    issued.meter_ids = [mp.pk for mp in _metering_points(community)]
    issued.meter_kwh, issued.meter_methods, cons_res = consumption_forecast(issued.meter_ids, h)
    issued.seconds["consumption"] = round(time.perf_counter() - began, 3)
    issued.production = issued.plant_kwh.sum(axis=0)
    issued.consumption = issued.meter_kwh.sum(axis=0)
    p_band = learn.band(issued.production, prod_res)
    c_band = learn.band(issued.consumption, cons_res)
    # DOMAIN.md: shared = min(injected, withdrawn); the plants' production stands for the
    # injection (self-consumption behind a producer's meter is not forecast separately).
    # Expected with both forecasts' uncertainty: below min(E[P], E[C]) (uncertainty.py).
    issued.shared, s_lo, s_hi = uncertainty.shared_forecast(issued.production, p_band, issued.consumption,
                                                            c_band)
    issued.bands = {Quantity.PRODUCTION: p_band, Quantity.CONSUMPTION: c_band, Quantity.SHARED: (s_lo, s_hi)}
    return issued


def _rounded(a: np.ndarray) -> list[float]:
    return [round(float(v), 4) for v in a]


def forecast_issue(*, community, issued_at: datetime | None = None, hours: int | None = None) -> dict:
    """Compute and store the community's forecasts (one row per subject, arrays over the
    horizon). Issuing again at the same second replaces that issue. Returns a summary."""
    issued = forecast_compute(community=community, issued_at=issued_at, hours=hours)
    h = issued.horizon
    common = {"community": community, "issued_at": h.issued_at, "start": h.start,
              "step_minutes": h.step_minutes}
    rows = [Forecast(kind=SubjectKind.PLANT, quantity=Quantity.PRODUCTION, plant_id=pid,
                     values_kwh=_rounded(issued.plant_kwh[k]), method=issued.plant_methods[k], **common)
            for k, pid in enumerate(issued.plant_ids)]
    rows += [Forecast(kind=SubjectKind.METER, quantity=Quantity.CONSUMPTION, metering_point_id=mid,
                      values_kwh=_rounded(issued.meter_kwh[k]), method=issued.meter_methods[k], **common)
             for k, mid in enumerate(issued.meter_ids)]
    series = {Quantity.PRODUCTION: issued.production, Quantity.CONSUMPTION: issued.consumption,
              Quantity.SHARED: issued.shared}
    rows += [Forecast(kind=SubjectKind.COMMUNITY, quantity=q, values_kwh=_rounded(values),
                      low_kwh=_rounded(issued.bands[q][0]), high_kwh=_rounded(issued.bands[q][1]),
                      method="sum of plants" if q == Quantity.PRODUCTION else
                      "sum of meters" if q == Quantity.CONSUMPTION else SHARED_METHOD,
                      **common) for q, values in series.items()]
    with transaction.atomic():
        Forecast.objects.filter(community=community, issued_at=h.issued_at).delete()
        Forecast.objects.bulk_create(rows, batch_size=500)
    return {
        "community": community.slug, "issued_at": h.issued_at.isoformat(), "start": h.start.isoformat(),
        "step_minutes": h.step_minutes, "steps": h.steps, "plants": len(issued.plant_ids),
        "meters": len(issued.meter_ids),
        "methods": dict(sorted(_count(issued.plant_methods + issued.meter_methods).items())),
        "production_kwh": round(float(issued.production.sum()), 3),
        "consumption_kwh": round(float(issued.consumption.sum()), 3),
        "shared_kwh": round(float(issued.shared.sum()), 3), "seconds": issued.seconds,
    }


def _count(items: list[str]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for item in items:
        out[item] += 1
    return out
