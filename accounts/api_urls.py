from django.urls import path

from accounts import api

urlpatterns = [
    path("auth/register", api.RegisterView.as_view(), name="auth-register"),
    path("auth/login", api.LoginView.as_view(), name="auth-login"),
    path("auth/google", api.GoogleSignInView.as_view(), name="auth-google"),
    path("auth/refresh-token", api.RefreshTokenView.as_view(), name="auth-refresh-token"),
    path("auth/logout", api.LogoutView.as_view(), name="auth-logout"),
    path("auth/verify-email", api.VerifyEmailView.as_view(), name="auth-verify-email"),
    path("auth/password-reset-request", api.PasswordResetRequestView.as_view(),
         name="auth-password-reset-request"),
    path("auth/password-reset", api.PasswordResetView.as_view(), name="auth-password-reset"),
    path("auth/login-link-request", api.LoginLinkRequestView.as_view(),
         name="auth-login-link-request"),
    path("auth/login-link", api.LoginLinkView.as_view(), name="auth-login-link"),
    path("login/access-token", api.AccessTokenView.as_view(), name="login-access-token"),
    path("login/test-token", api.TestTokenView.as_view(), name="login-test-token"),
    path("users", api.UserListView.as_view(), name="users"),
    path("users/profile", api.ProfileView.as_view(), name="users-profile"),
    path("users/check", api.UserCheckView.as_view(), name="users-check"),
    path("users/<int:user_id>", api.UserDetailView.as_view(), name="users-detail"),
]
