"""Demo plants: six PV plants of the San Lazzaro community, three of them with a battery.
Idempotent (keyed on community and plant name)."""

from datetime import date
from decimal import Decimal

from django.contrib.gis.geos import Point

from communities.models import MeteringPoint
from plants.models import Plant
from plants.services import plant_create

D = Decimal
# (name, owner's POD code, lon, lat, kWp, tilt, azimuth, inverter kW, commissioned, battery kWh/kW or None)
PLANTS = [
    ("Scuola primaria Jussi", "IT001E41170219", 11.4050, 44.4635, D("45.0"), D("10"), D("180"), D("40"),
     date(2022, 9, 15), None),
    ("Palazzetto dello sport", "IT001E41170219", 11.4188, 44.4702, D("60.0"), D("12"), D("165"), D("50"),
     date(2023, 4, 3), (D("60"), D("30"))),
    ("Tetto Bianchi", "IT001E41170200", 11.4087, 44.4711, D("6.0"), D("30"), D("180"), D("5"),
     date(2021, 6, 10), (D("10.2"), D("5"))),
    ("Capannone Ferrari", "IT001E41170203", 11.4152, 44.4789, D("19.8"), D("8"), D("190"), D("17"),
     date(2024, 2, 20), None),
    ("Tetto Esposito", "IT001E41170204", 11.4223, 44.4654, D("8.5"), D("25"), D("200"), D("8"),
     date(2024, 7, 1), (D("13.5"), D("5"))),
    ("Cantina Colombo", "IT001E41170206", 11.4303, 44.4713, D("12.0"), D("20"), D("170"), D("10"),
     date(2025, 3, 12), None),
]


def seed(ctx: dict, out) -> None:
    community = ctx["community"]
    plants = []
    for name, pod, lon, lat, kwp, tilt, azimuth, inverter_kw, commissioned, battery in PLANTS:
        plant = Plant.objects.filter(community=community, name=name).first()
        if plant is None:
            mp = MeteringPoint.objects.select_related("membership__user").get(code=pod)
            assets = [{"kind": "inverter", "manufacturer": "SMA", "model": f"Sunny Tripower {inverter_kw}",
                       "serial": f"INV-{pod[-4:]}-{len(plants)}"}]
            if battery:
                assets.append({"kind": "battery", "manufacturer": "BYD", "model": "Battery-Box Premium HVS",
                               "serial": f"BAT-{pod[-4:]}-{len(plants)}", "capacity_kwh": battery[0],
                               "power_kw": battery[1], "round_trip_efficiency": D("0.92")})
            plant = plant_create(
                name=name, owner=mp.membership.user, community=community, metering_point=mp,
                location=Point(lon, lat, srid=4326), capacity_kwp=kwp, tilt_deg=tilt, azimuth_deg=azimuth,
                inverter_power_kw=inverter_kw, commissioned_on=commissioned, assets=assets,
            )
        plants.append(plant)
    ctx["plants"] = plants
    batteries = sum(1 for p in plants if p.assets.filter(kind="battery").exists())
    out.write(f"plants: {len(plants)} PV plants ({sum(p.capacity_kwp for p in plants):.1f} kWp), "
              f"{batteries} with batteries")
