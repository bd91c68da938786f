"""Dashboard endpoints from the seeds (002): overview, recent activity, energy per hour /
day / month, battery status / history / health. They cover the calling user's own devices;
a referent (or vendor, admin) may pass `?community=<id>` for a whole community they manage.
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.views import APIView

from iot.read import dashboards
from iot.read.params import bad, date_param, int_param, json_response
from iot.read.selectors import devices_of, time_zone_of

COMMUNITY = OpenApiParameter(
    "community", OpenApiTypes.INT,
    description="Referents, vendors, admins: a community they manage instead of their own devices.",
)
ANSWERS = {200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 401: OpenApiTypes.OBJECT,
           404: OpenApiTypes.OBJECT}
MAX_DAYS = 1100


def _devices(request, kinds=None):
    community_id = int_param(request, "community")
    return devices_of(user=request.user, community_id=community_id, kinds=kinds)


def _doc(summary: str, *params, description: str = ""):
    return extend_schema(tags=["dashboard"], summary=summary, description=description,
                         parameters=[COMMUNITY, *params], responses=ANSWERS)


class DashboardView(APIView):
    @_doc("Overview: current power, today's energy, battery, device health")
    def get(self, request):
        return json_response(dashboards.dashboard_overview(devices=_devices(request)))


class RecentActivityView(APIView):
    @_doc("The newest events (alerts, commands) of the devices",
          OpenApiParameter("limit", OpenApiTypes.INT, description="1..100, default 10."))
    def get(self, request):
        limit = int_param(request, "limit", default=10, lo=1, hi=100)
        return json_response({"items": dashboards.recent_activity(devices=_devices(request), limit=limit)})


class EnergyHourlyView(APIView):
    @_doc("Energy per local hour of one day",
          OpenApiParameter("date", OpenApiTypes.DATE, description="Local day, default today."))
    def get(self, request):
        devices = _devices(request)
        day = date_param(request, "date")
        if day is None:
            day = timezone.now().astimezone(ZoneInfo(time_zone_of(devices))).date()
        return json_response(dashboards.energy_hourly(devices=devices, day=day))


class EnergyDailyView(APIView):
    @_doc("Energy per local day",
          OpenApiParameter("start", OpenApiTypes.STR, description="YYYY-MM-DD or YYYY-MM (its first day). "
                           "Default: 29 days before end."),
          OpenApiParameter("end", OpenApiTypes.STR, description="Inclusive: YYYY-MM-DD or YYYY-MM (its last "
                           "day). Default: today."))
    def get(self, request):
        devices = _devices(request)
        last = date_param(request, "end", month_end=True)
        if last is None:
            last = timezone.now().astimezone(ZoneInfo(time_zone_of(devices))).date()
        first = date_param(request, "start") or last - timedelta(days=29)
        if first > last:
            raise bad("start", "must not be after end.")
        if (last - first).days >= MAX_DAYS:
            raise bad("start", f"at most {MAX_DAYS} days per request.")
        return json_response(dashboards.energy_daily(devices=devices, first=first, last=last))


class EnergyMonthlyView(APIView):
    @_doc("Energy per local month",
          OpenApiParameter("months", OpenApiTypes.INT, description="The last N months, 1..120, default 12."),
          OpenApiParameter("year", OpenApiTypes.INT, description="Instead: the 12 months of this year."))
    def get(self, request):
        months = int_param(request, "months", default=12, lo=1, hi=120)
        year = int_param(request, "year", lo=2000, hi=2100)
        return json_response(dashboards.energy_monthly(devices=_devices(request), months=months, year=year))


class BatteryStatusView(APIView):
    @_doc("Current state of the batteries")
    def get(self, request):
        return json_response(dashboards.battery_status(devices=_devices(request, kinds=["battery"])))


class BatteryHistoryView(APIView):
    @_doc("State of charge and power of the batteries over the last hours",
          OpenApiParameter("hours", OpenApiTypes.INT, description="1..8784, default 24."))
    def get(self, request):
        hours = int_param(request, "hours", default=24, lo=1, hi=8784)
        return json_response(dashboards.battery_history(devices=_devices(request, kinds=["battery"]),
                                                        hours=hours))


class BatteryHealthView(APIView):
    @_doc("State of health, cycles and temperature of the batteries",
          OpenApiParameter("days", OpenApiTypes.INT, description="Period for changes and temperature "
                           "statistics, 1..3660, default 30."))
    def get(self, request):
        days = int_param(request, "days", default=30, lo=1, hi=3660)
        return json_response(dashboards.battery_health(devices=_devices(request, kinds=["battery"]),
                                                       days=days))
