"""From a stored Scenario to the engine's SimulationInput (reads only)."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

import numpy as np
import pandas as pd
from django.conf import settings

from energy_rules.figures import default_params
from simulation.engine.inputs import (
    BatteryInput,
    Economics,
    MemberInput,
    PlantInput,
    SimulationInput,
    Statute,
    Tariffs,
)
from simulation.models import Scenario, ScenarioMember
from simulation.physics import BatterySpec
from simulation.storage import blob_to_curve

logger = logging.getLogger("commonwatt.simulation")


def scenario_index(scenario: Scenario) -> pd.DatetimeIndex:
    return pd.date_range(
        scenario.start, scenario.end, freq=f"{scenario.resolution_minutes}min", inclusive="left", tz="UTC"
    )


def regime_params(scenario: Scenario) -> dict:
    """The scenario's regime parameter set: its own pick, else the set valid at the start
    (communities' RegimeParameters), else the figures of communities/regime_sets.py (their one
    source, which that table is seeded from); then its overrides."""
    params: dict = {}
    if scenario.regime_parameters_id:
        params = dict(scenario.regime_parameters.params)
    else:
        from communities.selectors import regime_parameters_at

        found = regime_parameters_at(regime=scenario.regime, on=scenario.start.date())
        if found is not None:
            params = dict(found.params)
    # Figures missing from an older stored row come from their one source (regime_sets.py).
    params = {**default_params(scenario.regime), **params}
    return {**params, **(scenario.regime_overrides or {})}


def measured_consumption_kwh(
    member: ScenarioMember, start: datetime, end: datetime, index: pd.DatetimeIndex, resolution_minutes: int
) -> np.ndarray | None:
    """A real consumer's measured withdrawal from the IoT rollups, when they cover the span.

    Prosumers keep their profile: their meter's import is net of self-consumption.
    """
    if member.membership_id is None or member.plants.exists():
        return None
    from iot.models import Device
    from iot.read.selectors import energy_buckets

    devices = list(
        Device.objects.filter(metering_point__membership_id=member.membership_id).values_list("id", flat=True)
    )
    if not devices:
        return None
    resolution = "15m" if resolution_minutes == 15 else "1h"
    buckets = energy_buckets(
        device_ids=devices, resolution=resolution, start=start, end=end, metric_codes=["energy_import_kwh"]
    )
    series = pd.Series(
        {pd.Timestamp(k).tz_convert("UTC"): v.get("energy_import_kwh") for k, v in buckets.items()},
        dtype=float,
    )
    series = series.reindex(index)
    if series.isna().mean() > 0.02:  # less than 98 % coverage: keep the profile
        return None
    return series.interpolate(limit_direction="both").to_numpy()


def simulation_input(scenario: Scenario) -> SimulationInput:
    index = scenario_index(scenario)
    members = []
    for m in scenario.members.all():
        curve = blob_to_curve(m.curve_kwh) if m.curve_kwh else None
        if curve is None and m.user_type == "real":
            curve = measured_consumption_kwh(
                m, scenario.start, scenario.end, index, scenario.resolution_minutes
            )
        members.append(
            MemberInput(
                key=m.key,
                name=m.name,
                profile=m.profile,
                annual_kwh=float(m.annual_kwh),
                curve_kwh=curve,
                business=m.business,
            )
        )
    plants = [
        PlantInput(
            key=str(p.pk),
            member_key=p.member.key,
            lat=p.lat,
            lon=p.lon,
            kwp=float(p.kwp),
            tilt_deg=float(p.tilt_deg),
            azimuth_deg=float(p.azimuth_deg),
            losses_pct=float(p.losses_pct),
            inverter_kw=float(p.inverter_kw) if p.inverter_kw else None,
            commissioned_on=p.commissioned_on,
            geo_zone=p.geo_zone,
            capital_grant_pct=float(p.capital_grant_pct),
        )
        for p in scenario.plants.select_related("member")
    ]
    batteries = [
        BatteryInput(
            key=str(b.pk),
            member_key=b.member.key,
            spec=BatterySpec(
                capacity_kwh=float(b.capacity_kwh),
                power_kw=float(b.power_kw),
                charge_efficiency=float(b.charge_efficiency),
                discharge_efficiency=float(b.discharge_efficiency),
                soc_min_pct=float(b.soc_min_pct),
                soc_max_pct=float(b.soc_max_pct),
                soc_initial_pct=float(b.soc_initial_pct),
            ),
        )
        for b in scenario.batteries.select_related("member")
    ]
    t = scenario.tariffs or {}
    zonal = None
    if scenario.zonal_price_eur_per_mwh:
        zonal = np.asarray(scenario.zonal_price_eur_per_mwh, dtype=float)
        if len(zonal) != len(index):  # hourly prices on a 15-minute run: repeat each hour
            zonal = np.repeat(zonal, len(index) // len(zonal))
    tariffs = Tariffs(
        buy_eur_per_kwh={
            k: float(v) for k, v in (t.get("buy_eur_per_kwh") or Tariffs().buy_eur_per_kwh).items()
        },
        export_price_eur_per_mwh=t.get("export_price_eur_per_mwh"),
        zonal_price_eur_per_mwh=zonal,
        zonal_mean_eur_per_mwh=float(t.get("zonal_mean_eur_per_mwh", 110.0)),
        shared_bonus_eur_per_mwh=float(t.get("shared_bonus_eur_per_mwh", 0.0)),
    )
    e = scenario.economics or {}
    economics = Economics(**{k: (Decimal(str(v)) if k != "lifetime_years" else int(v)) for k, v in e.items()})
    country = {"fr_acc": "FR", "at_eeg": "AT"}.get(scenario.regime, "IT")
    return SimulationInput(
        index=index,
        time_zone=scenario.time_zone,
        regime=scenario.regime,
        regime_params=regime_params(scenario),
        members=members,
        plants=plants,
        batteries=batteries,
        tariffs=tariffs,
        economics=economics,
        statute=Statute(scenario.producers_pct, scenario.consumers_pct, scenario.fund_pct),
        co2_kg_per_kwh=float(scenario.co2_kg_per_kwh),
        seed=scenario.seed,
        country=country,
        window_days=settings.SIMULATION_LP_WINDOW_DAYS,
        time_limit_s=settings.SIMULATION_LP_TIME_LIMIT_S,
    )
