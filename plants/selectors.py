"""Reads of the plants app: scoped plant lists, geo queries and performance figures."""

from datetime import date

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
    """Energy, specific yield (kWh/kWp) and performance ratio over [start, end), from the
    plant's devices' telemetry; None while no telemetry source exists for the plant."""
    return None
