"""Gunicorn settings for the web tier: several processes, each an ASGI (uvicorn) event loop.

Django runs sync views of one ASGI process one at a time (they share one thread), so the
web tier's concurrency is its number of processes: `WEB_WORKERS` (default: 2 per CPU).
Each process has its own database pool (`DB_POOL=1`); websockets and SSE work across
processes through the Redis channel layer. Start it with `scripts/web.sh` (what `make run`
and the production set-up in the README use).
"""

import os

bind = f"{os.environ.get('WEB_HOST', '127.0.0.1')}:{os.environ.get('WEB_PORT', '8000')}"
workers = int(os.environ.get("WEB_WORKERS", "0")) or 2 * (os.cpu_count() or 1)
worker_class = "core.workers.WebWorker"
# long enough for a simulation upload or an export; SSE streams keep the worker alive
timeout = int(os.environ.get("WEB_TIMEOUT_S", "60"))
graceful_timeout = 10
keepalive = 5
# the proxy in front (see README, Production) sets X-Forwarded-*; trust only loopback
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = None
errorlog = "-"
loglevel = os.environ.get("WEB_LOG_LEVEL", "warning")


def child_exit(server, worker):
    """A dead worker's live gauges leave the multiprocess metrics."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker):
    """Import every URL module (and the views, serializers behind them) before the first
    request, so that a fresh worker answers its first request as fast as the others."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - the import is the point
