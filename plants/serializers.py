"""Serializers of the plants API."""

from django.contrib.auth import get_user_model
from rest_framework import serializers

from communities.geo import GeoJSONField, LonLatField
from communities.models import Community, MeteringPoint
from core.drf import ScopedModelSerializer
from core.drf import ScopedPrimaryKeyRelatedField as ScopedPK
from plants.models import Asset, Plant


class AssetSerializer(ScopedModelSerializer):
    class Meta:
        model = Asset
        fields = ["id", "kind", "manufacturer", "model", "serial", "capacity_kwh", "power_kw",
                  "round_trip_efficiency", "soc_min_pct", "soc_max_pct", "specs", "installed_on"]
        read_only_fields = ["id"]


class PlantSerializer(ScopedModelSerializer):
    location = LonLatField(read_only=True)
    site = GeoJSONField("Polygon", read_only=True, allow_null=True)
    metering_point_code = serializers.CharField(source="metering_point.code", read_only=True, default=None,
                                                allow_null=True)
    assets = AssetSerializer(many=True, read_only=True)
    distance_km = serializers.SerializerMethodField(
        help_text="Only with ?near=: great-circle distance from that point.")

    class Meta:
        model = Plant
        fields = ["id", "name", "owner", "community", "metering_point", "metering_point_code", "location",
                  "site", "capacity_kwp", "tilt_deg", "azimuth_deg", "losses_pct", "technology",
                  "inverter_power_kw", "commissioned_on", "status", "assets", "distance_km",
                  "created_at", "updated_at"]

    def get_distance_km(self, obj) -> float | None:
        distance = getattr(obj, "distance", None)
        return round(distance.km, 3) if distance is not None else None


class PeriodSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField(help_text="Exclusive.")


class PerformanceSerializer(serializers.Serializer):
    energy_kwh = serializers.FloatField(help_text="Energy exported over the period.")
    specific_yield_kwh_per_kwp = serializers.FloatField()
    irradiation_kwh_per_m2 = serializers.FloatField(allow_null=True)
    performance_ratio = serializers.FloatField(
        allow_null=True, help_text="specific yield / (irradiation / 1 kW/m2); null without irradiance.")
    devices = serializers.IntegerField()


class PlantDetailSerializer(PlantSerializer):
    period = PeriodSerializer(read_only=True)
    performance = PerformanceSerializer(read_only=True, allow_null=True,
                                        help_text="null until the plant's devices have telemetry.")

    class Meta(PlantSerializer.Meta):
        fields = [*PlantSerializer.Meta.fields, "period", "performance"]


class AssetInputSerializer(ScopedModelSerializer):
    class Meta:
        model = Asset
        fields = ["kind", "manufacturer", "model", "serial", "capacity_kwh", "power_kw",
                  "round_trip_efficiency", "soc_min_pct", "soc_max_pct", "specs", "installed_on"]


class PlantWriteSerializer(ScopedModelSerializer):
    owner = ScopedPK(get_user_model())
    community = ScopedPK(Community, required=False, allow_null=True)
    metering_point = ScopedPK(MeteringPoint, required=False, allow_null=True)
    location = LonLatField(help_text='GeoJSON Point, or {"lon": .., "lat": ..}.')
    site = GeoJSONField("Polygon", required=False, allow_null=True)
    assets = AssetInputSerializer(many=True, required=False, help_text="Only on create.")

    class Meta:
        model = Plant
        fields = ["name", "owner", "community", "metering_point", "location", "site", "capacity_kwp",
                  "tilt_deg", "azimuth_deg", "losses_pct", "technology", "inverter_power_kw",
                  "commissioned_on", "status", "assets"]
