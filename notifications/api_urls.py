from django.urls import path

from notifications import api

urlpatterns = [
    path("notifications", api.NotificationsApi.as_view(), name="notifications-list"),
    path("notifications/<int:pk>/read", api.NotificationReadApi.as_view(), name="notifications-read"),
    path("notifications/read-all", api.NotificationsReadAllApi.as_view(), name="notifications-read-all"),
    path("notifications/preferences", api.PreferencesApi.as_view(), name="notifications-preferences"),
    path("notifications/push-subscriptions", api.PushSubscriptionsApi.as_view(),
         name="notifications-push-subscriptions"),
    path("notifications/sms/twilio-status", api.twilio_status_callback, name="notifications-twilio-status"),
]
