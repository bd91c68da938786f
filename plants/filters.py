"""Query-string filters of /plants, geo ones included (documented in the schema)."""

import django_filters as filters

from communities.geo import parse_bbox, parse_near, parse_radius_km
from core.drf import ScopedFilterSet
from plants.models import Plant
from plants.selectors import plants_in_bbox, plants_near


class PlantFilter(ScopedFilterSet):
    in_bbox = filters.CharFilter(method="filter_in_bbox",
                                 help_text="minlon,minlat,maxlon,maxlat (WGS 84).")
    near = filters.CharFilter(
        method="filter_near",
        help_text="lat,lon: plants within radius_km (default 10), nearest first, with distance_km.",
    )
    radius_km = filters.NumberFilter(method="filter_noop", help_text="Radius for near, km (default 10).")
    min_kwp = filters.NumberFilter(field_name="capacity_kwp", lookup_expr="gte")
    max_kwp = filters.NumberFilter(field_name="capacity_kwp", lookup_expr="lte")
    commissioned_after = filters.DateFilter(field_name="commissioned_on", lookup_expr="gte")
    commissioned_before = filters.DateFilter(field_name="commissioned_on", lookup_expr="lt")
    name = filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Plant
        fields = ["community", "owner", "status", "technology", "metering_point", "name"]

    def filter_in_bbox(self, qs, name, value):
        return plants_in_bbox(qs, parse_bbox(value))

    def filter_near(self, qs, name, value):
        return plants_near(qs, parse_near(value), parse_radius_km(self.data.get("radius_km")))

    def filter_noop(self, qs, name, value):
        return qs
