from iot.routing import websocket_urlpatterns as iot_ws
from notifications.routing import websocket_urlpatterns as notifications_ws
from simulation.routing import websocket_urlpatterns as simulation_ws

websocket_urlpatterns = [*iot_ws, *simulation_ws, *notifications_ws]
