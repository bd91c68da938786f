"""Reads of the plants app: scoped plant lists, geo queries and performance figures."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point, Polygon
from django.contrib.gis.measure import D
from django.db.models import Prefetch, QuerySet

from plants.models import Asset, Plant


def plant_list(*, user) -> QuerySet[Plant]:
    return (
        Plant.objects.visible_to(user)
        .select_related("owner", "community", "metering_point")
        .prefetch_related(Prefetch("assets", queryset=Asset.objects.order_by("kind", "id")))
    )


def plants_in_bbox(qs: QuerySet[Plant], bbox: Polygon) -> QuerySet[Plant]:
    bbox.srid = 4326
    return qs.filter(location__intersects=bbox)


def plants_near(qs: QuerySet[Plant], point: Point, radius_km: float) -> QuerySet[Plant]:
    """Plants within `radius_km` of `point`, nearest first, annotated with `distance`
    (great-circle, on the sphere; a Distance object: `.km`)."""
    return (
        qs.filter(location__distance_lte=(point, D(km=radius_km)))
        .annotate(distance=Distance("location", point))
        .order_by("distance", "id")
    )


def plant_performance(*, plant: Plant, start: date, end: date) -> dict | None:
    """Performance over the local days [start, end) of the plant's community, from the
    telemetry of its devices (iot app, 15-minute rollups):

    - energy_kwh: energy produced (differences of the `energy_produced_kwh` registers);
    - specific_yield_kwh_per_kwp = energy_kwh / capacity_kwp (final yield Yf);
    - performance_ratio = Yf / Yr, with the reference yield Yr = plane-of-array irradiation
      (kWh/m2) / 1 kW/m2 (IEC 61724-1); None without irradiance data.

    None when no device of the plant reported energy in the period.
    """
    from iot.models import Device
    from iot.read.selectors import plant_energy_kwh, plant_irradiation_kwh_m2

    tz = ZoneInfo(plant.community.time_zone if plant.community else "UTC")
    start_at = datetime.combine(start, time.min, tzinfo=tz)
    end_at = datetime.combine(end, time.min, tzinfo=tz)
    energy = plant_energy_kwh(plant=plant, start=start_at, end=end_at)
    if energy is None:
        return None
    specific_yield = energy / float(plant.capacity_kwp)
    irradiation = plant_irradiation_kwh_m2(plant=plant, start=start_at, end=end_at)
    ratio = specific_yield / irradiation if irradiation else None
    return {
        "energy_kwh": round(energy, 3),
        "specific_yield_kwh_per_kwp": round(specific_yield, 3),
        "irradiation_kwh_per_m2": round(irradiation, 3) if irradiation is not None else None,
        "performance_ratio": round(ratio, 4) if ratio is not None else None,
        "devices": Device.objects.filter(plant=plant).count(),
    }
