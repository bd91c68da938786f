from django.urls import path

from communities import views

app_name = "communities"

urlpatterns = [
    path("community/", views.my_communities, name="my_communities"),
    path("community/<int:pk>/", views.community, name="community"),
    path("metering-points/", views.my_metering_points, name="my_metering_points"),
    path("community/invitations/", views.my_invitations, name="my_invitations"),
    path("community/invitations/<str:token>/", views.invitation, name="invitation"),
]
