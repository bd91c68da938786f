"""The forecast API: community series with band, green windows, skill, battery schedules,
the community's forecast settings. Views validate, call one selector or service, serialize."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import Invalid
from core.scoping import require_manageable
from forecasts import calendar, selectors, steering, windows
from forecasts.issue import forecast_issue
from forecasts.models import ForecastSettings

TAGS = ["forecast"]


def _int_param(request, name: str, *, required: bool = False) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        if required:
            raise Invalid(gettext("%(name)s is required.") % {"name": name}, details={name: ["required"]})
        return None
    try:
        return int(raw)
    except ValueError:
        raise Invalid(gettext("%(name)s must be an integer.") % {"name": name},
                      details={name: ["invalid"]}) from None


def _day(raw, default: date | None) -> date | None:
    if raw in (None, ""):
        return default
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise Invalid(gettext("day must be a date (YYYY-MM-DD)."), details={"day": ["invalid"]}) from None


def _local_today(community) -> date:
    return timezone.localtime(timezone.now(), calendar.zone(community.time_zone)).date()


@extend_schema(tags=TAGS, request=None, responses=OpenApiTypes.OBJECT)
class CommunityForecastApi(APIView):
    """GET: the latest forecast of the community (production, consumption, shared energy per
    interval, each with its 10-90 % band) and the caller's own meters' and plants' series.
    POST: issue a forecast now (the community's managers)."""

    def get(self, request, community_id: int):
        data = selectors.community_forecast(user=request.user, community_id=community_id)
        if data is None:
            return Response({"community": community_id, "issued_at": None, "series": {}, "own": []})
        community = selectors.community_visible(user=request.user, community_id=community_id)
        data["own"] = selectors.own_forecasts(user=request.user, community=community)
        return Response(data)

    @extend_schema(responses={201: OpenApiTypes.OBJECT})
    def post(self, request, community_id: int):
        community = selectors.community_visible(user=request.user, community_id=community_id)
        require_manageable(request.user, community,
                           message=gettext("Only the community's managers issue forecasts."))
        return Response(forecast_issue(community=community), status=201)


@extend_schema(tags=TAGS, responses=OpenApiTypes.OBJECT, parameters=[
    OpenApiParameter("community", int, description="One community (default: all you can see)."),
    OpenApiParameter("day", OpenApiTypes.DATE, description="Local day (default: tomorrow)."),
])
class WindowsApi(APIView):
    """Green windows: the day's hours with expected community surplus, per community you can
    see; with the suggestion text and what your consumption in yesterday's windows earned."""

    def get(self, request):
        community_id = _int_param(request, "community")
        if community_id is not None:
            communities = [selectors.community_visible(user=request.user, community_id=community_id)]
        else:
            communities = list(selectors.communities_visible(user=request.user))
        raw_day = request.query_params.get("day")
        items = []
        for community in communities:
            day = _day(raw_day, _local_today(community) + timedelta(days=1))
            found = windows.green_windows(community=community, day=day)
            own = _own_meters(request.user, community)
            yesterday = _local_today(community) - timedelta(days=1)
            items.append({
                "community": community.pk, "day": day.isoformat(),
                "windows": [w.as_dict(community.time_zone) for w in found],
                "message": windows.window_message(found, community.time_zone),
                "shift": windows.shift_earned(community=community, metering_point_ids=own,
                                              day=yesterday) if own else None,
            })
        return Response({"items": items})


def _own_meters(user, community) -> list[int]:
    from communities.models import MeteringPoint

    return list(MeteringPoint.objects.filter(membership__community=community, membership__user=user)
                .values_list("pk", flat=True))


@extend_schema(tags=TAGS, responses=OpenApiTypes.OBJECT, parameters=[
    OpenApiParameter("community", int), OpenApiParameter("days", int, description="Default 7, at most 90."),
])
class SkillApi(APIView):
    """Scores of the day-ahead forecasts (MAE and skill against persistence) per day, per
    community you can see; mean over the plants and meters you may see."""

    def get(self, request):
        days = _int_param(request, "days") or 7
        if not 1 <= days <= 90:
            raise Invalid(gettext("days must be between 1 and 90."), details={"days": ["out_of_range"]})
        community_id = _int_param(request, "community")
        items = selectors.skill_summary(user=request.user, community_id=community_id, days=days,
                                        today=timezone.now().date() + timedelta(days=1))
        return Response({"items": items})


class ScheduleOut(serializers.Serializer):
    id = serializers.IntegerField()
    community = serializers.IntegerField(source="community_id")
    asset = serializers.IntegerField(source="asset_id")
    plant = serializers.IntegerField(source="asset.plant_id")
    device = serializers.IntegerField(source="device_id", allow_null=True)
    day = serializers.DateField()
    start = serializers.DateTimeField()
    step_minutes = serializers.IntegerField()
    charge_kwh = serializers.ListField(child=serializers.FloatField())
    discharge_kwh = serializers.ListField(child=serializers.FloatField())
    soc_kwh = serializers.ListField(child=serializers.FloatField())
    expected_shared_kwh = serializers.FloatField()
    expected_shared_without_kwh = serializers.FloatField()
    measured_added_kwh = serializers.FloatField(allow_null=True)
    command_status = serializers.CharField()
    command_id = serializers.SerializerMethodField()

    def get_command_id(self, obj) -> str | None:
        return str(obj.command.command_id) if obj.command_id else None


class PlanIn(serializers.Serializer):
    community = serializers.IntegerField()
    day = serializers.DateField(required=False)


SCHEDULES = inline_serializer("BatterySchedules", {"items": ScheduleOut(many=True)})


@extend_schema(tags=TAGS, responses=SCHEDULES, parameters=[
    OpenApiParameter("community", int), OpenApiParameter("day", OpenApiTypes.DATE),
])
class SchedulesApi(APIView):
    """GET: battery schedules (the community's managers, and each battery's plant owner).
    POST {"community", "day"?}: compute the day's schedules (default tomorrow); sent to the
    batteries as commands when the community opted in (settings `battery_steering`)."""

    @extend_schema(operation_id="forecast_batteries_list")
    def get(self, request):
        qs = selectors.schedules(user=request.user, community_id=_int_param(request, "community"),
                                 day=_day(request.query_params.get("day"), None))
        return Response({"items": ScheduleOut(qs[:200], many=True).data})

    @extend_schema(request=PlanIn, responses={201: SCHEDULES})
    def post(self, request):
        body = PlanIn(data=request.data)
        if not body.is_valid():
            raise Invalid(gettext("Invalid schedule request."), details=body.errors)
        community_id = body.validated_data["community"]
        community = selectors.community_visible(user=request.user, community_id=community_id)
        require_manageable(request.user, community,
                           message=gettext("Only the community's managers plan batteries."))
        day = body.validated_data.get("day") or _local_today(community) + timedelta(days=1)
        saved = steering.battery_schedules_plan(community=community, day=day, actor=request.user)
        return Response({"items": ScheduleOut(saved, many=True).data}, status=201)


class SettingsIn(serializers.Serializer):
    battery_steering = serializers.BooleanField(required=False)
    green_window_min_kwh = serializers.FloatField(required=False, min_value=0.0, max_value=1e6)


@extend_schema(tags=TAGS, request=SettingsIn, responses=OpenApiTypes.OBJECT)
class SettingsApi(APIView):
    """The community's forecast settings: battery steering opt-in, green-window threshold."""

    def get(self, request, community_id: int):
        community = selectors.community_visible(user=request.user, community_id=community_id)
        return Response(_settings_out(selectors.settings_of(community)))

    def patch(self, request, community_id: int):
        community = selectors.community_visible(user=request.user, community_id=community_id)
        require_manageable(request.user, community,
                           message=gettext("Only the community's managers change this."))
        body = SettingsIn(data=request.data, partial=True)
        if not body.is_valid():
            raise Invalid(gettext("Invalid settings."), details=body.errors)
        obj, _ = ForecastSettings.objects.update_or_create(community=community, defaults=body.validated_data)
        return Response(_settings_out(obj))


def _settings_out(obj: ForecastSettings) -> dict:
    return {"community": obj.community_id, "battery_steering": obj.battery_steering,
            "green_window_min_kwh": obj.green_window_min_kwh}
