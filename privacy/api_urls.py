from django.urls import path

from privacy import api

urlpatterns = [
    path("users/profile/consent", api.ConsentView.as_view(), name="privacy-consent"),
    path("users/profile/export", api.ExportView.as_view(), name="privacy-export"),
    path("users/profile/export/<int:job_id>", api.ExportStatusView.as_view(), name="privacy-export-status"),
    path("users/profile/export/<int:job_id>/download", api.ExportDownloadView.as_view(),
         name="privacy-export-download"),
    path("users/profile/erasure", api.ErasureView.as_view(), name="privacy-erasure"),
    path("privacy/erasure-requests", api.ErasureStaffListView.as_view(), name="privacy-erasure-requests"),
    path("privacy/erasure-requests/<int:request_id>/confirm", api.ErasureConfirmView.as_view(),
         name="privacy-erasure-confirm"),
    path("privacy/erasure-requests/<int:request_id>/reject", api.ErasureRejectView.as_view(),
         name="privacy-erasure-reject"),
    path("api-keys", api.ApiKeyListView.as_view(), name="api-keys"),
    path("api-keys/<int:key_id>", api.ApiKeyDetailView.as_view(), name="api-key-detail"),
]
