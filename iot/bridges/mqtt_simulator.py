"""Realistic telemetry for the demo devices, published over MQTT like real devices would.

Physics comes from `simulation.physics` (the same functions the simulation engine uses, so
demo telemetry and simulations agree): PV from pvlib with the site's cloud pattern, BDEW
household / business load profiles, and the battery model dispatching for self-consumption
at its plant's POD. Series are computed per 15 minutes for a window around now and
interpolated at each tick, with a little noise.

Per tick (every `interval` seconds, ts = the tick time) each device sends one message
`{"ts": ..., "values": {...}}` on `devices/<serial>/telemetry`:
- meter: power_w (+ import / - export), energy_import_kwh, energy_export_kwh, voltage_v;
- inverter: power_w, dc_power_w, energy_produced_kwh, pv_string_voltage_v, voltage_v,
  inverter_temp_c;
- battery: power_w (+ discharge / - charge), soc_pct, battery_temp_c, battery_health_pct,
  battery_cycles;
- weather: ghi_wm2, irradiance_wm2, ambient_temp_c, wind_speed_ms.
Counters and the state of charge continue from the last stored values, so restarts and
backfills never rewrite history. Commands on `devices/+/commands` are acknowledged
(`set_power_limit {"kw": x}` caps an inverter; `set_schedule` makes a battery follow the
platform's charge/discharge schedule instead of its self-consumption rule).
"""

import json
import logging
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from django.db import connection

from iot.models import Device, DeviceKind
from simulation.physics import BatterySpec, battery_step, load_kw, pv_power_from_weather, site_weather

logger = logging.getLogger("commonwatt.iot.simulator")

STEP = timedelta(minutes=15)
COUNTERS = {
    DeviceKind.METER: ("energy_import_kwh", "energy_export_kwh"),
    DeviceKind.INVERTER: ("energy_produced_kwh",),
    DeviceKind.BATTERY: ("battery_cycles",),
}


@dataclass
class Site:
    """Precomputed 15-minute series over [start, end): PV kW per plant, load kW per POD, weather."""

    start: datetime
    end: datetime
    index: pd.DatetimeIndex
    pv_kw: dict = field(default_factory=dict)  # plant id -> array
    load_kw: dict = field(default_factory=dict)  # device id (meter) -> array
    ghi: np.ndarray | None = None
    temp_c: np.ndarray | None = None

    def at(self, series: np.ndarray, t: datetime) -> float:
        """Linear interpolation of interval means, placed at interval midpoints."""
        pos = (t - self.start) / STEP - 0.5
        i = min(max(math.floor(pos), 0), len(series) - 2)
        frac = min(max(pos - i, 0.0), 1.0)
        return float(series[i] * (1 - frac) + series[i + 1] * frac)


def _seed(*parts) -> int:
    return abs(hash("/".join(map(str, parts)))) % (2**31)


class Fleet:
    """The simulated state of a set of devices; `tick(t)` -> {serial: values}."""

    def __init__(self, devices: list[Device], *, seed: int = 42):
        self.devices = devices
        self.seed = seed
        self.rng = random.Random(seed)
        self.site: Site | None = None
        self.counters: dict[tuple[str, str], float] = {}
        self.soc_kwh: dict[str, float] = {}
        self.caps_kw: dict[str, float] = {}
        # battery serial -> (start, step, [kW per interval, + charge / - discharge])
        self.schedules: dict[str, tuple[datetime, timedelta, list[float]]] = {}
        self.last_t: datetime | None = None
        self.wind = 2.0
        self.meters = [d for d in devices if d.kind == DeviceKind.METER and d.metering_point_id]
        self.inverters = [d for d in devices if d.kind == DeviceKind.INVERTER and d.plant_id]
        self.batteries = [d for d in devices if d.kind == DeviceKind.BATTERY and d.plant_id]
        self.weather = [d for d in devices if d.kind == DeviceKind.WEATHER]
        self.specs = {b.serial: self._battery_spec(b) for b in self.batteries}

    def schedule_set(self, serial: str, payload: dict) -> int:
        """A battery's schedule (the platform's `set_schedule` command: `start`,
        `step_minutes`, `power_kw` per interval, + charge / - discharge): while it covers the
        time, the battery follows it (within its limits) instead of its self-consumption
        rule. Returns the number of intervals; ValueError for anything else."""
        if serial not in self.specs:
            raise ValueError("not a battery")
        start = datetime.fromisoformat(str(payload["start"]))
        step = timedelta(minutes=int(payload["step_minutes"]))
        power = [float(p) for p in payload["power_kw"]]
        if start.tzinfo is None or step <= timedelta(0) or not power or len(power) > 10_000:
            raise ValueError("bad schedule")
        self.schedules[serial] = (start, step, power)
        return len(power)

    def _scheduled_kw(self, serial: str, t: datetime) -> float | None:
        schedule = self.schedules.get(serial)
        if schedule is None:
            return None
        start, step, power = schedule
        i = math.floor((t - start) / step)
        return power[i] if 0 <= i < len(power) else None

    # state --------------------------------------------------------------------------
    @staticmethod
    def _battery_spec(device: Device) -> BatterySpec:
        asset = device.plant.assets.filter(kind="battery").first()
        if asset is None:
            return BatterySpec(capacity_kwh=10.0, power_kw=5.0)
        return BatterySpec.from_round_trip(
            round_trip_efficiency=float(asset.round_trip_efficiency or 0.9),
            capacity_kwh=float(asset.capacity_kwh), power_kw=float(asset.power_kw),
            soc_min_pct=float(asset.soc_min_pct), soc_max_pct=float(asset.soc_max_pct),
        )

    def restore(self) -> datetime | None:
        """Continue from the stored readings: counters, SoC; returns the latest stored ts."""
        ids = [d.id for d in self.devices]
        if not ids:
            return None
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT DISTINCT ON (r.device_id, r.metric_id) d.serial, m.code, r.ts, r.value
                FROM iot_reading r JOIN iot_device d ON d.id = r.device_id
                JOIN iot_metric m ON m.id = r.metric_id
                WHERE r.device_id = ANY(%s) AND m.code IN ('energy_import_kwh', 'energy_export_kwh',
                    'energy_produced_kwh', 'battery_cycles', 'soc_pct')
                ORDER BY r.device_id, r.metric_id, r.ts DESC
                """,
                [ids],
            )
            rows = cursor.fetchall()
        latest = None
        for serial, code, ts, value in rows:
            if code == "soc_pct":
                spec = self.specs.get(serial)
                if spec is not None:
                    self.soc_kwh[serial] = spec.capacity_kwh * value / 100
            else:
                self.counters[(serial, code)] = value
            latest = ts if latest is None or ts > latest else latest
        return latest

    def _counter(self, serial: str, code: str) -> float:
        key = (serial, code)
        if key not in self.counters:
            self.counters[key] = float(500 + _seed(self.seed, serial, code) % 4000)
        return self.counters[key]

    # physics ------------------------------------------------------------------------
    def prepare(self, start: datetime, end: datetime) -> None:
        """Compute the 15-minute series covering [start, end] (plus margins)."""
        first = pd.Timestamp(start).floor("15min") - pd.Timedelta(hours=1)
        last = pd.Timestamp(end).ceil("15min") + pd.Timedelta(hours=2)
        index = pd.date_range(first, last, freq="15min", tz="UTC")
        site = Site(start=first.to_pydatetime(), end=last.to_pydatetime(), index=index)
        plants = {d.plant_id: d.plant for d in self.devices if d.plant_id}
        for mp_meter in self.meters:
            for plant in mp_meter.metering_point.plants.all():
                plants.setdefault(plant.pk, plant)
        weather_by_site = {}
        for plant in plants.values():
            lat, lon = round(plant.location.y, 2), round(plant.location.x, 2)
            key = (lat, lon)
            if key not in weather_by_site:  # solar position is the costly part: once per site
                weather_by_site[key] = site_weather(lat=lat, lon=lon, index=index, seed=self.seed)
            site.pv_kw[plant.pk] = pv_power_from_weather(
                weather_by_site[key], kwp=float(plant.capacity_kwp), tilt_deg=float(plant.tilt_deg),
                azimuth_deg=float(plant.azimuth_deg), losses_pct=float(plant.losses_pct),
                inverter_kw=float(plant.inverter_power_kw) if plant.inverter_power_kw else None,
            ).to_numpy()
        if weather_by_site:
            weather = next(iter(weather_by_site.values()))
        else:
            weather = site_weather(lat=44.49, lon=11.34, index=index, seed=self.seed)
        site.ghi, site.temp_c = weather.ghi, weather.temp_air_c
        for meter in self.meters:
            conn = meter.connection or {}
            site.load_kw[meter.id] = load_kw(
                profile=str(conn.get("profile", "H0")), annual_kwh=float(conn.get("annual_kwh", 2700)),
                index=index, seed=_seed(self.seed, meter.serial),
            ).to_numpy()
        self.site = site
        self.plants = plants

    def _pv(self, plant_id: int, t: datetime, serial: str | None = None) -> float:
        kw = max(0.0, self.site.at(self.site.pv_kw[plant_id], t) * (1 + self.rng.gauss(0, 0.02)))
        cap = self.caps_kw.get(serial) if serial else None
        return min(kw, cap) if cap is not None else kw

    def tick(self, t: datetime) -> dict[str, dict]:
        if self.site is None or not (self.site.start + STEP <= t <= self.site.end - STEP):
            self.prepare(t - timedelta(hours=1), t + timedelta(hours=24))
        dt_h = (t - self.last_t).total_seconds() / 3600 if self.last_t else STEP.total_seconds() / 3600
        dt_h = min(max(dt_h, 0.0), 1.0)
        self.last_t = t
        out: dict[str, dict] = {}
        ambient = self.site.at(self.site.temp_c, t)
        pv_by_plant = {}
        for inv in self.inverters:
            pv = self._pv(inv.plant_id, t, inv.serial)
            pv_by_plant[inv.plant_id] = pv
            out[inv.serial] = self._inverter(inv, pv, ambient, dt_h)
        for plant_id in self.plants:
            pv_by_plant.setdefault(plant_id, self._pv(plant_id, t))
        battery_kw = defaultdict(float)  # POD id -> charge (+) / discharge (-) kW at that bus
        load_by_mp = {m.metering_point_id: max(0.0, self.site.at(self.site.load_kw[m.id], t)
                                               * (1 + self.rng.gauss(0, 0.05))) for m in self.meters}
        for bat in self.batteries:
            mp_id = bat.plant.metering_point_id
            pv_here = self._pv_at(pv_by_plant, mp_id) if mp_id else pv_by_plant.get(bat.plant_id, 0.0)
            surplus = pv_here - load_by_mp.get(mp_id, 0.0)
            planned = self._scheduled_kw(bat.serial, t)
            out[bat.serial], battery_kw[mp_id] = self._battery(
                bat, surplus if planned is None else planned, ambient, dt_h)
        for meter in self.meters:
            mp_id = meter.metering_point_id
            net = load_by_mp[mp_id] - self._pv_at(pv_by_plant, mp_id) + battery_kw.get(mp_id, 0.0)
            out[meter.serial] = self._meter(meter, net, dt_h)
        for wx in self.weather:
            out[wx.serial] = self._weather(t, ambient)
        return out

    def _pv_at(self, pv_by_plant: dict, mp_id: int) -> float:
        """PV power behind one POD (all its plants)."""
        return sum(pv_by_plant.get(p.pk, 0.0) for p in self.plants.values() if p.metering_point_id == mp_id)

    def _inverter(self, inv: Device, pv_kw: float, ambient: float, dt_h: float) -> dict:
        produced = self._counter(inv.serial, "energy_produced_kwh") + pv_kw * dt_h
        self.counters[(inv.serial, "energy_produced_kwh")] = produced
        rating = float(inv.plant.inverter_power_kw or inv.plant.capacity_kwp)
        load = pv_kw / rating if rating else 0.0
        return {"power_w": round(pv_kw * 1000, 1), "dc_power_w": round(pv_kw * 1000 / 0.965, 1),
                "energy_produced_kwh": round(produced, 4),
                "pv_string_voltage_v": round(0.0 if pv_kw <= 0 else 520 + 90 * min(load, 1) - 0.4 * ambient,
                                             1),
                "voltage_v": round(230 + self.rng.gauss(0, 1.2), 1),
                "inverter_temp_c": round(ambient + 28 * load + self.rng.gauss(0, 0.3), 1)}

    def _battery(self, bat: Device, surplus_kw: float, ambient: float, dt_h: float) -> tuple[dict, float]:
        spec = self.specs[bat.serial]
        soc = self.soc_kwh.setdefault(bat.serial, spec.soc_initial_kwh)
        charge, discharge, soc = battery_step(spec, soc_kwh=soc, request_kw=surplus_kw, dt_h=dt_h)
        self.soc_kwh[bat.serial] = soc
        cycles = self.counters.get((bat.serial, "battery_cycles"), 0.0)  # a new battery starts at 0
        cycles += (charge + discharge) * dt_h / (2 * spec.capacity_kwh)
        self.counters[(bat.serial, "battery_cycles")] = cycles
        values = {"power_w": round((discharge - charge) * 1000, 1),
                  "soc_pct": round(100 * soc / spec.capacity_kwh, 3),
                  "battery_temp_c": round(18 + 0.3 * ambient + 6 * (charge + discharge) / spec.power_kw, 1),
                  "battery_health_pct": round(max(70.0, 99.0 - 0.004 * cycles), 3),
                  "battery_cycles": round(cycles, 5)}
        return values, charge - discharge

    def _meter(self, meter: Device, net_kw: float, dt_h: float) -> dict:
        imp = self._counter(meter.serial, "energy_import_kwh") + max(net_kw, 0.0) * dt_h
        exp = self._counter(meter.serial, "energy_export_kwh") + max(-net_kw, 0.0) * dt_h
        self.counters[(meter.serial, "energy_import_kwh")] = imp
        self.counters[(meter.serial, "energy_export_kwh")] = exp
        return {"power_w": round(net_kw * 1000, 1), "energy_import_kwh": round(imp, 4),
                "energy_export_kwh": round(exp, 4), "voltage_v": round(230 + self.rng.gauss(0, 1.5), 1)}

    def _weather(self, t: datetime, ambient: float) -> dict:
        ghi = max(0.0, self.site.at(self.site.ghi, t) * (1 + self.rng.gauss(0, 0.02)))
        self.wind = min(max(self.wind + self.rng.gauss(0, 0.3), 0.0), 15.0)
        return {"ghi_wm2": round(ghi, 1), "irradiance_wm2": round(min(ghi * 1.12, 1500), 1),
                "ambient_temp_c": round(ambient + self.rng.gauss(0, 0.1), 2),
                "wind_speed_ms": round(self.wind, 2)}


def telemetry_message(t: datetime, values: dict) -> str:
    return json.dumps({"ts": t.astimezone(UTC).isoformat().replace("+00:00", "Z"), "values": values})


def ticks(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    out, t = [], start
    while t <= end:
        out.append(t)
        t += step
    return out
