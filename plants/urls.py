from django.urls import path

from plants import views

app_name = "plants"

urlpatterns = [
    path("plants/", views.my_plants, name="my_plants"),
]
