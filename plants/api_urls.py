from django.urls import path

from plants import api

urlpatterns = [
    path("plants", api.PlantListCreateApi.as_view(), name="plant-list"),
    path("plants/<int:pk>", api.PlantDetailApi.as_view(), name="plant-detail"),
]
