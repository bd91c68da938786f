"""Mounted under /api/v1/billing/ (config/urls.py)."""

from django.urls import path

from settlement import api

urlpatterns = [
    path("settlements", api.SettlementListApi.as_view(), name="settlement-list"),
    path("settlements/true-ups", api.TrueUpApi.as_view(), name="settlement-true-up"),
    path("gse-statements", api.GseStatementApi.as_view(), name="settlement-gse-statements"),
    path("settlements/<int:pk>", api.SettlementDetailApi.as_view(), name="settlement-detail"),
    path("settlements/<int:pk>/approve", api.SettlementApproveApi.as_view(), name="settlement-approve"),
    path("settlements/<int:pk>/post", api.SettlementPostApi.as_view(), name="settlement-post"),
    path("settlements/<int:pk>/gaps", api.GapDecisionApi.as_view(), name="settlement-gaps"),
]
