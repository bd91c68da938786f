"""Forecast fixtures: world A's community with a plant (inverter telemetry), three members'
meters (one new, without history), hourly history from synthetic truth."""

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pytest

from forecasts import testing

HISTORY_START = datetime(2025, 5, 20, tzinfo=UTC)
ISSUE = datetime(2025, 6, 17, 4, 0, tzinfo=UTC)  # 06:00 in Rome
TRUTH_HOURS = (ISSUE - HISTORY_START).days * 24 + 4 + 72


@dataclass
class Site:
    community: object
    plant: object
    meters: list
    new_meter: object
    production: np.ndarray  # hourly truth from HISTORY_START
    consumption: list


def _make_site(tenant, tag: str, seed: int, with_history: bool = True) -> Site:
    from communities.models import MeteringPoint
    from iot.testing.registry import make_device

    plant = tenant.plant
    plant.capacity_kwp = 40
    plant.tilt_deg, plant.azimuth_deg = 30, 180
    plant.save()
    make_device(f"INV-{tag}", kind="inverter", plant=plant)
    members = list(tenant.community.memberships.all().order_by("pk"))
    meters, consumption = [], []
    for i, membership in enumerate(members):
        mp = MeteringPoint.objects.create(code=f"IT001E{seed:02d}{i:06d}", membership=membership)
        make_device(f"MTR-{tag}-{i}", kind="meter", metering_point=mp)
        meters.append(mp)
    new_mp = MeteringPoint.objects.create(code=f"IT001E{seed:02d}999999", membership=members[0])
    make_device(f"MTR-{tag}-new", kind="meter", metering_point=new_mp,
                connection_settings={"profile": "H0", "annual_kwh": 3650})
    lat, lon = plant.location.y, plant.location.x
    production = testing.truth_production(lat=lat, lon=lon, kwp=40, start=HISTORY_START, hours=TRUTH_HOURS,
                                          seed=seed, ratio=0.8, morning_shade=0.4)
    # the whole truth is written, also after the issue: a forecast reads only what precedes
    # its start, the scoring reads the days after
    items = []
    upto = TRUTH_HOURS if with_history else 0
    if with_history:
        items += testing.readings(f"INV-{tag}", "energy_produced_kwh", HISTORY_START, production[:upto])
    for i, _mp in enumerate(meters):
        series = testing.truth_consumption(annual_kwh=3000 + 1500 * i, start=HISTORY_START,
                                           hours=TRUTH_HOURS, seed=seed + i)
        consumption.append(series)
        if with_history:
            items += testing.readings(f"MTR-{tag}-{i}", "energy_import_kwh", HISTORY_START, series)
            items += testing.readings(f"MTR-{tag}-{i}", "energy_export_kwh", HISTORY_START,
                                      np.zeros(upto) if i else production[:upto] * 0.9)
    if items:
        testing.write(items)
    return Site(tenant.community, plant, meters, new_mp, production, consumption)


@pytest.fixture
def site(world):
    return _make_site(world.a, "A", seed=3)
