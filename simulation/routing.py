from django.urls import path

from simulation.consumers import SimulationProgressConsumer

websocket_urlpatterns = [
    path("ws/simulation/<uuid:job>/", SimulationProgressConsumer.as_asgi()),
]
