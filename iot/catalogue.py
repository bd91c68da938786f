"""The metric catalogue shipped with CommonWatt (seeded by migration 0003, extensible from
the admin). Sign convention of power: positive = imported from the grid at a meter, produced
at an inverter, discharging at a battery.
"""

GW = 1e9
# code, name, unit, min, max, cumulative, description
METRICS = [
    ("power_w", "Active power", "W", -5e7, 5e7, False,
     "Meter: + import / - export. Inverter: AC output. Battery: + discharge / - charge."),
    ("reactive_power_var", "Reactive power", "var", -5e7, 5e7, False, ""),
    ("power_factor", "Power factor", "", -1, 1, False, ""),
    ("frequency_hz", "Grid frequency", "Hz", 45, 65, False, ""),
    ("energy_import_kwh", "Energy imported (register)", "kWh", 0, GW, True,
     "Cumulative register of energy withdrawn from the grid."),
    ("energy_export_kwh", "Energy exported (register)", "kWh", 0, GW, True,
     "Cumulative register of energy injected into the grid."),
    ("energy_produced_kwh", "Energy produced (register)", "kWh", 0, GW, True,
     "Cumulative inverter yield."),
    ("energy_charged_kwh", "Battery energy charged (register)", "kWh", 0, GW, True, ""),
    ("energy_discharged_kwh", "Battery energy discharged (register)", "kWh", 0, GW, True, ""),
    ("voltage_v", "AC voltage", "V", 0, 50000, False, "Phase-to-neutral at LV, line at MV."),
    ("current_a", "AC current", "A", -10000, 10000, False, ""),
    ("pv_string_voltage_v", "PV string voltage", "V", 0, 1500, False, ""),
    ("pv_string_current_a", "PV string current", "A", 0, 100, False, ""),
    ("dc_power_w", "DC power", "W", 0, 5e7, False, "Inverter DC input."),
    ("soc_pct", "Battery state of charge", "%", 0, 100, False, ""),
    ("battery_temp_c", "Battery temperature", "°C", -40, 100, False, ""),
    ("battery_health_pct", "Battery state of health", "%", 0, 100, False, ""),
    ("battery_cycles", "Battery equivalent full cycles", "cycles", 0, 1e6, True, ""),
    ("irradiance_wm2", "Global irradiance (plane of array)", "W/m²", 0, 1800, False, ""),
    ("ghi_wm2", "Global horizontal irradiance", "W/m²", 0, 1800, False, ""),
    ("ambient_temp_c", "Ambient temperature", "°C", -60, 70, False, ""),
    ("module_temp_c", "PV module temperature", "°C", -50, 120, False, ""),
    ("wind_speed_ms", "Wind speed", "m/s", 0, 80, False, ""),
    ("inverter_temp_c", "Inverter temperature", "°C", -40, 120, False, ""),
]


def metrics_ensure(metric_model=None) -> int:
    """Create the catalogue's metrics that are missing (existing codes are left alone)."""
    if metric_model is None:
        from iot.models import Metric

        metric_model = Metric
    existing = set(metric_model.objects.values_list("code", flat=True))
    missing = [
        metric_model(code=code, name=name, unit=unit, min_value=lo, max_value=hi, is_cumulative=cumulative,
                     description=description)
        for code, name, unit, lo, hi, cumulative, description in METRICS if code not in existing
    ]
    metric_model.objects.bulk_create(missing, ignore_conflicts=True)  # a concurrent caller may win
    return len(missing)
