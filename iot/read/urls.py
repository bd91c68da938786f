"""Telemetry reads, dashboards and the SSE stream (under /api/v1/)."""

from django.urls import path

from iot.live.sse import TelemetryStreamView
from iot.read import api as query_api
from iot.read import dashboard_api

urlpatterns = [
    path("iot/devices/<int:device_id>/timeseries", query_api.DeviceTimeseriesView.as_view(),
         name="iot-device-timeseries"),
    path("iot/latest/<int:user_id>", query_api.UserLatestView.as_view(), name="iot-user-latest"),
    path("iot/history/<int:user_id>", query_api.UserHistoryView.as_view(), name="iot-user-history"),
    path("iot/communities/<int:community_id>/series", query_api.CommunitySeriesView.as_view(),
         name="iot-community-series"),
    path("iot/alerts", query_api.AlertListView.as_view(), name="iot-alerts"),
    path("iot/stream", TelemetryStreamView.as_view(), name="iot-stream"),
    path("dashboard", dashboard_api.DashboardView.as_view(), name="dashboard"),
    path("recent-activity", dashboard_api.RecentActivityView.as_view(), name="recent-activity"),
    path("energy/hourly", dashboard_api.EnergyHourlyView.as_view(), name="energy-hourly"),
    path("energy/daily", dashboard_api.EnergyDailyView.as_view(), name="energy-daily"),
    path("energy/monthly", dashboard_api.EnergyMonthlyView.as_view(), name="energy-monthly"),
    path("battery/status", dashboard_api.BatteryStatusView.as_view(), name="battery-status"),
    path("battery/history", dashboard_api.BatteryHistoryView.as_view(), name="battery-history"),
    path("battery/health", dashboard_api.BatteryHealthView.as_view(), name="battery-health"),
]
