from django.urls import path

from statements import views

app_name = "statements"

urlpatterns = [
    path("statements/", views.statements_page, name="list"),
    path("statements/<int:pk>/", views.statement_page, name="detail"),
]
