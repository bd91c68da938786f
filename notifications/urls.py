from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("notifications/", views.centre, name="centre"),
    path("notifications/<int:pk>/read/", views.mark_read, name="read"),
    path("notifications/read-all/", views.mark_all_read, name="read_all"),
    path("notifications/settings/", views.settings_page, name="settings"),
    path("sw.js", views.service_worker, name="service_worker"),
]
