"""The pricing API: the caller's supply and zonal prices now and for the next hours."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from pricing import outlook

TAGS = ["pricing"]
COMMUNITY_PARAM = OpenApiParameter(
    "community", int, required=False,
    description="A community you can see (staff); default: your only current community.")


class CommunityRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    market_zone = serializers.CharField()
    time_zone = serializers.CharField()


class TariffRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField(help_text="tou, flat or dynamic")
    personal = serializers.BooleanField(help_text="The member's own tariff (not the community's).")


def _price(**kw):
    return serializers.DecimalField(max_digits=14, decimal_places=6, allow_null=True, **kw)


class CurrentSerializer(serializers.Serializer):
    community = CommunityRefSerializer()
    at = serializers.DateTimeField()
    tariff = TariffRefSerializer(allow_null=True)
    band = serializers.CharField(allow_null=True)
    supply_eur_per_kwh = _price()
    zonal_eur_per_mwh = _price()
    zonal_source = serializers.CharField(allow_null=True, help_text="day_ahead or forecast")
    zonal_interval_start = serializers.DateTimeField()


class HourSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    band = serializers.CharField(allow_null=True)
    supply_eur_per_kwh = _price()
    tariff_id = serializers.IntegerField(allow_null=True)
    zonal_eur_per_mwh = _price()
    zonal_source = serializers.CharField(help_text="day_ahead, forecast or unavailable")
    supply_estimated = serializers.BooleanField(help_text="A dynamic tariff priced on a forecast.")


class ForecastSerializer(serializers.Serializer):
    community = CommunityRefSerializer()
    tariff = TariffRefSerializer(allow_null=True)
    method = serializers.CharField()
    hours = HourSerializer(many=True)


class CurrentQuery(serializers.Serializer):
    community = serializers.IntegerField(required=False, min_value=1, max_value=2**62)


class ForecastQuery(CurrentQuery):
    hours = serializers.IntegerField(required=False, min_value=1, max_value=48, default=24)


@extend_schema(tags=TAGS, parameters=[COMMUNITY_PARAM], responses=CurrentSerializer)
class PricingCurrentApi(APIView):
    """Your supply price (EUR/kWh) and band now, and the zonal price (EUR/MWh) of this hour."""

    def get(self, request):
        query = CurrentQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = outlook.pricing_current(user=request.user, community_id=query.validated_data.get("community"))
        return Response(CurrentSerializer(data).data)


@extend_schema(
    tags=TAGS, responses=ForecastSerializer,
    parameters=[COMMUNITY_PARAM,
                OpenApiParameter("hours", int, required=False, description="1..48, default 24")],
)
class PricingForecastApi(APIView):
    """The next hours (default 24), hourly: band, supply price, zonal price and whether the
    zonal price is the day-ahead one or a forecast from history (method in the README)."""

    def get(self, request):
        query = ForecastQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = outlook.pricing_forecast(user=request.user, community_id=query.validated_data.get("community"),
                                        hours=query.validated_data["hours"])
        return Response(ForecastSerializer(data).data)
