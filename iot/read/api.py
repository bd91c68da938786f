"""Telemetry read API: device time series, a user's latest values and history, and the
community series for its referent. Thin views: parse, scope, call a selector, orjson."""

from datetime import timedelta

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.views import APIView

from accounts.models import User
from core.errors import ApiError
from iot.models import Alert, AlertKind, Metric
from iot.read.params import bad, choice_param, datetime_param, int_param, json_response
from iot.read.selectors import (
    RESOLUTIONS,
    ROLLUP_TABLES,
    community_managed,
    community_series,
    device_series,
    device_visible,
    devices_of,
    latest_values,
    max_points,
    metric_by_code,
    period_bounds,
    resolution_auto,
)

WIDTHS = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "1d": timedelta(days=1),
          "1mo": timedelta(days=28)}

START = OpenApiParameter("start", OpenApiTypes.DATETIME, description="Inclusive, ISO-8601 (naive = UTC). "
                         "Default: end minus 24 hours.")
END = OpenApiParameter("end", OpenApiTypes.DATETIME, description="Exclusive. Default: now.")
METRIC = OpenApiParameter("metric", OpenApiTypes.STR, description="Metric code, e.g. power_w.")
RESOLUTION = OpenApiParameter(
    "resolution", OpenApiTypes.STR, enum=[*RESOLUTIONS, "auto"],
    description="raw readings, a rollup (15m, 1h, 1d, 1mo: min/max/mean/count/first/last, delta for "
                "counters), or auto: the finest with at most 2,000 points.",
)
SERIES_SCHEMA = inline_serializer("TimeSeries", {
    "device": serializers.IntegerField(), "metric": serializers.CharField(),
    "unit": serializers.CharField(), "resolution": serializers.CharField(),
    "start": serializers.DateTimeField(), "end": serializers.DateTimeField(),
    "points": serializers.IntegerField(),
    "t": serializers.ListField(child=serializers.DateTimeField()),
    "value": serializers.ListField(child=serializers.FloatField(), help_text="Raw value or bucket mean."),
    "min": serializers.ListField(child=serializers.FloatField(), required=False),
    "max": serializers.ListField(child=serializers.FloatField(), required=False),
    "count": serializers.ListField(child=serializers.IntegerField(), required=False),
    "first": serializers.ListField(child=serializers.FloatField(), required=False),
    "last": serializers.ListField(child=serializers.FloatField(), required=False),
    "delta": serializers.ListField(child=serializers.FloatField(allow_null=True), required=False,
                                   help_text="Counters: increase in the bucket (e.g. kWh), resets handled."),
    "gaps": serializers.ListField(child=serializers.IntegerField(), required=False),
})
ERRORS = {400: OpenApiTypes.OBJECT, 401: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT}


def _series(*, device_id: int, metric: Metric, start, end, resolution: str) -> dict:
    if resolution == "auto":
        resolution = resolution_auto(device_id=device_id, metric_id=metric.id, start=start, end=end)
    columns = device_series(device_id=device_id, metric=metric, start=start, end=end, resolution=resolution)
    return {"resolution": resolution, "points": len(columns["t"]), **columns}


class DeviceTimeseriesView(APIView):
    @extend_schema(
        tags=["telemetry"], summary="One device's metric over time",
        parameters=[METRIC, START, END, RESOLUTION], responses={200: SERIES_SCHEMA, **ERRORS},
        examples=[OpenApiExample("daily", response_only=True, value={
            "device": 7, "metric": "energy_import_kwh", "unit": "kWh", "resolution": "1d",
            "start": "2026-01-01T00:00:00Z", "end": "2026-01-03T00:00:00Z", "points": 2,
            "t": ["2025-12-31T23:00:00+00:00", "2026-01-01T23:00:00+00:00"], "value": [812.4, 821.9],
            "min": [808.0, 817.1], "max": [817.1, 826.0], "count": [96, 96], "first": [808.0, 817.1],
            "last": [817.1, 826.0], "delta": [9.1, 8.9], "gaps": [0, 0]})],
    )
    def get(self, request, device_id: int):
        device_id = device_visible(user=request.user, device_id=device_id)
        metric = metric_by_code(request.query_params.get("metric"))
        start, end = period_bounds(datetime_param(request, "start"), datetime_param(request, "end"),
                                   timedelta(hours=24))
        resolution = choice_param(request, "resolution", [*RESOLUTIONS, "auto"], "auto")
        series = _series(device_id=device_id, metric=metric, start=start, end=end, resolution=resolution)
        return json_response({"device": device_id, "metric": metric.code, "unit": metric.unit,
                              "start": start, "end": end, **series})


def _target_user(request, user_id: int) -> User:
    """A member may ask only about themself, staff about the users they can see; 404 else."""
    target = User.objects.visible_to(request.user).filter(pk=user_id).first()
    if target is None:
        raise ApiError("User not found.", error="NotFound", status_code=404)
    return target


class UserLatestView(APIView):
    @extend_schema(
        tags=["telemetry"], summary="Latest value of every metric of a user's devices",
        responses={200: OpenApiTypes.OBJECT, 401: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
        examples=[OpenApiExample("latest", response_only=True, value={
            "user": 12, "devices": [{"id": 7, "serial": "MTR-1", "name": "Home meter", "kind": "meter",
                                     "status": "online", "last_seen": "2026-05-01T12:00:03Z",
                                     "values": {"power_w": {"ts": "2026-05-01T12:00:00Z", "value": 830.0,
                                                            "unit": "W"}}}]})],
    )
    def get(self, request, user_id: int):
        target = _target_user(request, user_id)
        devices = devices_of(user=request.user, target=target)
        latest = latest_values(device_ids=[d.id for d in devices])
        units = dict(Metric.objects.values_list("code", "unit"))
        return json_response({"user": target.id, "devices": [
            {"id": d.id, "serial": d.serial, "name": str(d), "kind": d.kind, "status": d.status,
             "last_seen": d.last_seen,
             "values": {code: {**v, "unit": units.get(code, "")} for code, v in latest[d.id].items()}}
            for d in devices
        ]})


class UserHistoryView(APIView):
    @extend_schema(
        tags=["telemetry"], summary="A metric of each of a user's devices over time",
        parameters=[OpenApiParameter("metric", OpenApiTypes.STR, description="Default power_w."),
                    START, END, RESOLUTION],
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
    )
    def get(self, request, user_id: int):
        target = _target_user(request, user_id)
        metric = metric_by_code(request.query_params.get("metric") or "power_w")
        start, end = period_bounds(datetime_param(request, "start"), datetime_param(request, "end"),
                                   timedelta(hours=24))
        resolution = choice_param(request, "resolution", [*RESOLUTIONS, "auto"], "auto")
        devices = devices_of(user=request.user, target=target)
        return json_response({
            "user": target.id, "metric": metric.code, "unit": metric.unit, "start": start, "end": end,
            "devices": [{"id": d.id, "serial": d.serial, "name": str(d), "kind": d.kind,
                         **_series(device_id=d.id, metric=metric, start=start, end=end,
                                   resolution=resolution)}
                        for d in devices],
        })


class CommunitySeriesView(APIView):
    @extend_schema(
        tags=["telemetry"], summary="Community import/export per interval (referents, vendors)",
        description="Sum over the community's meters of the energy imported and exported in each "
                    "bucket, plus shared = min(export, import). Members get 404: the series "
                    "is built from other members' meters.",
        parameters=[OpenApiParameter("resolution", OpenApiTypes.STR, enum=list(ROLLUP_TABLES),
                                     description="Default 1h."),
                    OpenApiParameter("start", OpenApiTypes.DATETIME, description="Default: end - 7 days."),
                    END],
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
    )
    def get(self, request, community_id: int):
        community = community_managed(user=request.user, community_id=community_id)
        resolution = choice_param(request, "resolution", list(ROLLUP_TABLES), "1h")
        start, end = period_bounds(datetime_param(request, "start"), datetime_param(request, "end"),
                                   timedelta(days=7))
        if (end - start) / WIDTHS[resolution] > max_points():
            raise bad("resolution", f"more than {max_points()} buckets: use a coarser resolution.")
        return json_response({"community": community.id, "time_zone": community.time_zone,
                              "resolution": resolution, "start": start, "end": end,
                              **community_series(community=community, resolution=resolution,
                                                 start=start, end=end)})


class AlertSerializer(serializers.ModelSerializer):
    device_serial = serializers.CharField(source="device.serial", read_only=True)
    is_open = serializers.BooleanField(read_only=True)

    class Meta:
        model = Alert
        fields = ["id", "device", "device_serial", "kind", "opened_at", "closed_at", "is_open",
                  "last_seen", "message", "notified_at"]


class AlertListView(ListAPIView):
    """Device alerts (offline / back online) the caller may see, newest first."""

    serializer_class = AlertSerializer
    filter_backends = []

    @extend_schema(
        tags=["telemetry"], summary="Device alerts (offline, back online)",
        parameters=[OpenApiParameter("open", OpenApiTypes.BOOL, description="Only open outages."),
                    OpenApiParameter("device", OpenApiTypes.INT),
                    OpenApiParameter("kind", OpenApiTypes.STR, enum=[k.value for k in AlertKind])],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        alerts = Alert.objects.visible_to(self.request.user).select_related("device")
        if params.get("open") in ("1", "true"):
            alerts = alerts.open()
        device = int_param(self.request, "device")
        if device is not None:
            alerts = alerts.filter(device_id=device)
        if params.get("kind"):
            alerts = alerts.filter(kind=choice_param(self.request, "kind", list(AlertKind.values), ""))
        return alerts.order_by("-opened_at", "-id")
