from django.urls import path

from simulation import api

urlpatterns = [
    path("simulation", api.SimulationView.as_view(), name="simulation-list"),
    path("simulation/progress", api.SimulationProgressView.as_view(), name="simulation-progress"),
    path("simulation/<uuid:job>", api.SimulationDetailView.as_view(), name="simulation-detail"),
    path("simulation/<uuid:job>/results.csv", api.SimulationResultsCsvView.as_view(), name="simulation-csv"),
    path("simulation/<uuid:job>/cancel", api.SimulationCancelView.as_view(), name="simulation-cancel"),
]
