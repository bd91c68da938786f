from django.urls import path

from statements import api

urlpatterns = [
    path("statements", api.StatementsApi.as_view(), name="statements-list"),
    path("statements/<int:pk>", api.StatementApi.as_view(), name="statements-detail"),
    path("statements/<int:pk>/pdf", api.StatementPdfApi.as_view(), name="statements-pdf"),
    path("statements/<int:pk>/csv", api.StatementCsvApi.as_view(), name="statements-csv"),
    path("reports/community/<int:run_id>/<str:fmt>", api.CommunityReportApi.as_view(),
         name="statements-community-report"),
    path("reports/yearly/<int:community_id>/<int:year>/<str:fmt>", api.YearlyReportApi.as_view(),
         name="statements-yearly-report"),
]
