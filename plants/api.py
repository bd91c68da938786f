"""The plants API: lists with geo filters and GeoJSON output, detail with assets and performance."""

from datetime import date, timedelta

from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import generics, renderers, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from communities.models import Community
from core.exceptions import Forbidden
from core.scoping import get_manageable, require_manageable
from plants import selectors, services
from plants.filters import PlantFilter
from plants.models import Plant
from plants.serializers import PlantDetailSerializer, PlantSerializer, PlantWriteSerializer

TAGS = ["plants"]


class GeoJSONRenderer(renderers.JSONRenderer):
    """`?format=geojson`: the list as a FeatureCollection (pagination as foreign members)."""

    media_type = "application/geo+json"
    format = "geojson"


@extend_schema_serializer(many=False)  # the whole page, not a list of them
class PlantFeatureCollection(serializers.Serializer):
    """`?format=geojson`: the page as a FeatureCollection, pagination as foreign members."""

    type = serializers.CharField(default="FeatureCollection")
    features = serializers.ListField(child=serializers.DictField())
    total = serializers.IntegerField()
    page = serializers.IntegerField()
    size = serializers.IntegerField()


def _feature(item: dict) -> dict:
    props = {k: v for k, v in item.items() if k not in ("location", "site")}
    return {"type": "Feature", "id": item["id"], "geometry": item["location"], "properties": props}


def _check_can_write(user, community: Community | None) -> None:
    if community is None:
        if not user.is_platform_admin:
            raise Forbidden(gettext("Only administrators register plants outside a community."))
        return
    require_manageable(user, community, message=gettext("You can see this community but not change it."))


@extend_schema(tags=TAGS)
class PlantListCreateApi(generics.ListCreateAPIView):
    """Plants you can see. `?format=geojson` answers a GeoJSON FeatureCollection of the page."""

    serializer_class = PlantSerializer
    filterset_class = PlantFilter
    ordering_fields = ["name", "capacity_kwp", "commissioned_on", "id"]
    search_fields = ["name"]
    renderer_classes = [renderers.JSONRenderer, GeoJSONRenderer, renderers.BrowsableAPIRenderer]

    def get_queryset(self):
        return selectors.plant_list(user=self.request.user)

    def finalize_response(self, request, response, *args, **kwargs):
        # Errors keep the JSON envelope and media type even when GeoJSON was asked for.
        accepted = getattr(request, "accepted_renderer", None)
        if response.status_code >= 400 and accepted is not None and accepted.format == "geojson":
            request.accepted_renderer = renderers.JSONRenderer()
            request.accepted_media_type = "application/json"
        return super().finalize_response(request, response, *args, **kwargs)

    @extend_schema(responses={
        (200, "application/json"): PlantSerializer(many=True),
        (200, "application/geo+json"): PlantFeatureCollection,
    })
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        if request.accepted_renderer.format == "geojson":
            body = response.data
            response.data = {
                "type": "FeatureCollection",
                "features": [_feature(item) for item in body["items"]],
                "total": body["total"], "page": body["page"], "size": body["size"],
            }
        return response

    @extend_schema(request=PlantWriteSerializer, responses={201: PlantDetailSerializer})
    def post(self, request):
        serializer = PlantWriteSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        _check_can_write(request.user, data.get("community"))
        plant = services.plant_create(**data)
        return Response(_detail(request, plant.pk), status=status.HTTP_201_CREATED)


def _period(request) -> tuple[date, date]:
    today = timezone.localdate()
    try:
        end = date.fromisoformat(request.query_params["end"]) if request.query_params.get("end") else today
        start = (date.fromisoformat(request.query_params["start"]) if request.query_params.get("start")
                 else end - timedelta(days=30))
    except ValueError:
        raise ValidationError({"start": ["Dates are YYYY-MM-DD."]}) from None
    if end <= start:
        raise ValidationError({"end": ["Must be after start."]})
    if (end - start).days > 3660:
        raise ValidationError({"end": ["The period is at most ten years."]})
    return start, end


def _detail(request, pk: int, period: tuple[date, date] | None = None) -> dict:
    plant = get_object_or_404(selectors.plant_list(user=request.user), pk=pk)
    start, end = period or _period(request)
    plant.period = {"start": start, "end": end}
    plant.performance = selectors.plant_performance(plant=plant, start=start, end=end)
    return PlantDetailSerializer(plant, context={"request": request}).data


@extend_schema(tags=TAGS)
class PlantDetailApi(generics.GenericAPIView):
    serializer_class = PlantDetailSerializer

    def get_queryset(self):
        return selectors.plant_list(user=self.request.user)

    @extend_schema(parameters=[
        OpenApiParameter("start", date, description="Performance period start (default end - 30 days)."),
        OpenApiParameter("end", date, description="Performance period end, exclusive (default today)."),
    ])
    def get(self, request, pk):
        period = _period(request)
        return Response(_detail(request, pk, period))

    @extend_schema(request=PlantWriteSerializer, responses={200: PlantDetailSerializer})
    def put(self, request, pk):
        return self._update(request, pk, partial=False)

    @extend_schema(request=PlantWriteSerializer, responses={200: PlantDetailSerializer})
    def patch(self, request, pk):
        return self._update(request, pk, partial=True)

    def _update(self, request, pk, *, partial: bool):
        plant = get_manageable(Plant.objects, request.user, pk=pk,
                               message=gettext("You can see this plant but not change it."))
        serializer = PlantWriteSerializer(plant, data=request.data, partial=partial,
                                          context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if data.pop("assets", None):
            raise ValidationError({"assets": ["Assets are added on create or in the back office."]})
        if "community" in data and data["community"] != plant.community:
            _check_can_write(request.user, data["community"])
        services.plant_update(plant=plant, **data)
        return Response(_detail(request, plant.pk))
