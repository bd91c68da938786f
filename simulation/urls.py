from django.urls import path

from simulation import views

app_name = "simulation"

urlpatterns = [
    path("simulation/", views.scenario_wizard, name="wizard"),
    path("simulation/runs/<uuid:job>/", views.run_page, name="run"),
]
