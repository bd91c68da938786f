from django.urls import path

from allocations import api

urlpatterns = [
    path("communities/<int:pk>/data-quality", api.CommunityDataQualityApi.as_view(),
         name="community-data-quality"),
    path("communities/<int:pk>/eda-report", api.EdaReportApi.as_view(), name="community-eda-report"),
    path("communities/<int:pk>/allocation-keys", api.AllocationKeysUploadApi.as_view(),
         name="community-allocation-keys"),
    path("communities/<int:pk>/eda-values", api.EdaUploadApi.as_view(), name="community-eda-values"),
]
