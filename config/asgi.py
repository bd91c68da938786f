"""ASGI entry point: HTTP through Django, websockets through Channels.

Websockets are authenticated by session cookie or a JWT (`?token=`), and the Origin
header is checked against ALLOWED_HOSTS.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from config.routing import websocket_urlpatterns  # noqa: E402
from core.metrics import count_websockets  # noqa: E402
from core.ws_auth import SessionOrJwtAuthMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": count_websockets(AllowedHostsOriginValidator(
            SessionOrJwtAuthMiddleware(URLRouter(websocket_urlpatterns))
        )),
    }
)
