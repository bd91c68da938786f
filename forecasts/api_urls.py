from django.urls import path

from forecasts import api

urlpatterns = [
    path("forecast/community/<int:community_id>", api.CommunityForecastApi.as_view(),
         name="forecast-community"),
    path("forecast/community/<int:community_id>/settings", api.SettingsApi.as_view(),
         name="forecast-settings"),
    path("forecast/windows", api.WindowsApi.as_view(), name="forecast-windows"),
    path("forecast/skill", api.SkillApi.as_view(), name="forecast-skill"),
    path("forecast/batteries", api.SchedulesApi.as_view(), name="forecast-batteries"),
]
