from django.urls import path

from privacy import views

app_name = "privacy"

urlpatterns = [
    path("privacy/", views.privacy_page, name="page"),
    path("privacy/consent/", views.consent_accept, name="consent-accept"),
    path("privacy/consent/withdraw/", views.consent_withdraw, name="consent-withdraw"),
    path("privacy/export/", views.export_start, name="export"),
    path("privacy/erasure/", views.erasure_ask, name="erasure"),
    path("privacy/erasure/cancel/", views.erasure_cancel, name="erasure-cancel"),
    path("privacy/erasure-requests/<int:request_id>/", views.erasure_decide, name="erasure-decide"),
]
