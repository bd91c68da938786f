"""The gunicorn worker of the web tier: uvicorn serving config.asgi (HTTP, websockets, SSE)."""

from uvicorn_worker import UvicornWorker


class WebWorker(UvicornWorker):
    # Django has no lifespan protocol; without "off" every start logs an ASGI error
    CONFIG_KWARGS = {"loop": "auto", "http": "auto", "lifespan": "off"}
