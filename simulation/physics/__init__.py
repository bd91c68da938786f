"""Pure physics shared by the simulation engine and the IoT device simulator.

    pv_power_kw(lat=, lon=, kwp=, tilt_deg=, azimuth_deg=, losses_pct=, index=, seed=)
    load_kw(profile="H0", annual_kwh=, index=, seed=)
    BatterySpec, battery_step, dispatch_self_consumption

All return mean power in kW over each interval of a tz-aware regular DatetimeIndex.
"""

from simulation.physics.battery import BatteryFlows, BatterySpec, battery_step, dispatch_self_consumption
from simulation.physics.load import PROFILES, load_kw
from simulation.physics.pv import SiteWeather, pv_power_from_weather, pv_power_kw, site_weather

__all__ = [
    "PROFILES",
    "BatteryFlows",
    "BatterySpec",
    "SiteWeather",
    "battery_step",
    "dispatch_self_consumption",
    "load_kw",
    "pv_power_from_weather",
    "pv_power_kw",
    "site_weather",
]
