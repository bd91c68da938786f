from django.urls import path

from accounts import views

app_name = "portal"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("profile/", views.profile, name="profile"),
    path("login-link/", views.login_link_request, name="login-link"),
    path("login-link/confirm/", views.login_link_confirm, name="login-link-confirm"),
]
