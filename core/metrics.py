"""Prometheus metrics (prometheus-client), served at `/metrics` with `METRICS_TOKEN`.

Several processes: with `PROMETHEUS_MULTIPROC_DIR` set (`make run` sets it for every
process: web workers, Celery worker, MQTT bridge, pollers), each process writes its own
files there and `/metrics` adds them up (prometheus-client's multiprocess mode). Without
it (tests, a single process) the default registry of this process is served.

Counted where it happens: HTTP requests (MetricsMiddleware), websocket connections
(`count_websockets`, config/asgi.py), readings ingested / dead-lettered (one line at the
commit point in iot/ingest), the MQTT bridge's inbox depth and acknowledgement lag, Celery
tasks (signals). Read from PostgreSQL and Redis at scrape time (`StateCollector`): stored
dead letters per source, rollup lag, Celery queue lengths.
"""

import hmac
import logging
import os
import time

from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from core.middleware import _BothModes

logger = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter("commonwatt_http_requests", "HTTP requests answered, by route and status.",
                        ["method", "route", "status"])
HTTP_LATENCY = Histogram("commonwatt_http_request_duration_seconds",
                         "Time to answer an HTTP request, by route and status.",
                         ["method", "route", "status"], buckets=LATENCY_BUCKETS)
# error rate: rate(commonwatt_http_errors_total) / rate(commonwatt_http_requests_total)
HTTP_ERRORS = Counter("commonwatt_http_errors", "HTTP answers with a 5xx status, by route.", ["route"])
WEBSOCKETS = Gauge("commonwatt_websocket_connections", "Open websocket connections, by path.", ["path"],
                   multiprocess_mode="livesum")
READINGS_INGESTED = Counter("commonwatt_iot_readings_ingested", "Readings stored (committed), by source.",
                            ["source"])
READINGS_DEAD_LETTERED = Counter("commonwatt_iot_readings_dead_lettered",
                                 "Items or messages dead-lettered (committed), by source.", ["source"])
BRIDGE_INBOX = Gauge("commonwatt_mqtt_bridge_inbox_messages",
                     "MQTT messages received by the bridge and not yet stored.", multiprocess_mode="livesum")
BRIDGE_ACK_LAG = Histogram("commonwatt_mqtt_bridge_ack_lag_seconds",
                           "From a message's arrival at the bridge to its acknowledgement (after commit).",
                           buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
CELERY_TASKS = Counter("commonwatt_celery_tasks", "Celery tasks finished, by task and state.",
                       ["task", "state"])
CELERY_TASK_DURATION = Histogram("commonwatt_celery_task_duration_seconds", "Celery task run time.",
                                 ["task"], buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900))


# --- counted where it happens ---------------------------------------------------------
def count_ingested(source: str, accepted: int, dead_lettered: int = 0) -> None:
    """Called by `ingest` once its transaction block is done (committed, unless an outer
    transaction of the caller, e.g. the bridge's batch, rolls it back and retries: then the
    retry counts again). No on_commit callback: the ingest path keeps exactly one."""
    if accepted:
        READINGS_INGESTED.labels(source).inc(accepted)
    if dead_lettered:
        READINGS_DEAD_LETTERED.labels(source).inc(dead_lettered)


def count_dead_lettered(source: str, n: int) -> None:
    """Payloads dead-lettered outside `ingest` (a bridge's malformed message)."""
    if n:
        READINGS_DEAD_LETTERED.labels(source).inc(n)


def bridge_acked(inbox_depth: int, lags_s: list[float]) -> None:
    """The MQTT bridge acknowledged a stored batch: its inbox depth now and each message's lag."""
    BRIDGE_INBOX.set(inbox_depth)
    for lag in lags_s:
        BRIDGE_ACK_LAG.observe(lag)


def _route(request) -> str:
    match = getattr(request, "resolver_match", None)
    return "/" + match.route if match is not None and match.route else "<unmatched>"


class MetricsMiddleware(_BothModes):
    """Request count and latency by route pattern (not the raw path: bounded label values)."""

    def before(self, request):
        request._metrics_started = time.perf_counter()

    def after(self, request, response):
        route, status = _route(request), str(response.status_code)
        HTTP_REQUESTS.labels(request.method, route, status).inc()
        HTTP_LATENCY.labels(request.method, route, status).observe(
            time.perf_counter() - request._metrics_started)
        if response.status_code >= 500:
            HTTP_ERRORS.labels(route).inc()
        return response


def count_websockets(app):
    """ASGI wrapper: open websocket connections, from the accept to the end of the socket."""

    async def wrapper(scope, receive, send):
        path = scope.get("path", "")
        accepted = False

        async def counting_send(message):
            nonlocal accepted
            if message["type"] == "websocket.accept" and not accepted:
                accepted = True
                WEBSOCKETS.labels(path).inc()
            await send(message)

        try:
            return await app(scope, receive, counting_send)
        finally:
            if accepted:
                WEBSOCKETS.labels(path).dec()

    return wrapper


def _task_started(task_id=None, task=None, **kwargs):
    _started[task_id] = time.perf_counter()


def _task_finished(task_id=None, task=None, state=None, **kwargs):
    name = getattr(task, "name", "?")
    CELERY_TASKS.labels(name, state or "UNKNOWN").inc()
    started = _started.pop(task_id, None)
    if started is not None:
        CELERY_TASK_DURATION.labels(name).observe(time.perf_counter() - started)


_started: dict[str, float] = {}


def connect_celery_signals() -> None:
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(_task_started, weak=False, dispatch_uid="metrics_task_prerun")
    task_postrun.connect(_task_finished, weak=False, dispatch_uid="metrics_task_postrun")


# --- read at scrape time --------------------------------------------------------------
class StateCollector:
    """Gauges read from PostgreSQL and Redis when /metrics is scraped."""

    def collect(self):
        yield from self._database()
        yield from self._queues()

    def _database(self):
        letters = GaugeMetricFamily("commonwatt_iot_dead_letters", "Dead letters stored, by source.",
                                    labels=["source"])
        lag = GaugeMetricFamily("commonwatt_iot_rollup_lag_seconds",
                                "Age of the oldest written range not rolled up yet (0: up to date).")
        since = GaugeMetricFamily("commonwatt_iot_rollup_last_run_age_seconds",
                                  "Seconds since the rollup task last ran.")
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT source, count(*) FROM iot_deadletter GROUP BY source")
                for source, n in cursor.fetchall():
                    letters.add_metric([source], n)
                cursor.execute(
                    "SELECT extract(epoch FROM now() - (SELECT min(d.queued_at) FROM iot_rollup_dirty d"
                    " WHERE d.id > s.watermark_id)), extract(epoch FROM now() - s.last_run_at)"
                    " FROM iot_rollup_state s")
                row = cursor.fetchone()
        except Exception:  # a scrape must answer even with the database away
            logger.exception("metrics: the database could not be read")
            return
        yield letters
        if row is not None:
            lag.add_metric([], float(row[0] or 0.0))
            yield lag
            if row[1] is not None:
                since.add_metric([], float(row[1]))
                yield since

    def _queues(self):
        import redis

        queues = GaugeMetricFamily("commonwatt_celery_queue_length", "Tasks waiting in a Celery queue.",
                                   labels=["queue"])
        name = settings.CELERY_TASK_DEFAULT_QUEUE
        try:
            client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2)
            # kombu keeps one list per priority step: the queue name, then name + "\x06\x16" + step
            keys = [name, *(f"{name}\x06\x16{step}" for step in range(1, 10))]
            with client.pipeline() as pipe:
                for key in keys:
                    pipe.llen(key)
                queues.add_metric([name], sum(pipe.execute()))
            client.close()
        except redis.RedisError:
            logger.exception("metrics: the Celery broker could not be read")
            return
        yield queues


_state_registry = CollectorRegistry(auto_describe=False)
_state_registry.register(StateCollector())


def exposition() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry) + generate_latest(_state_registry)


def _authorized(request) -> bool:
    expected = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    scheme, _, token = given.partition(" ")
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), expected.encode())


@never_cache
@require_GET
def metrics_view(request):
    """`GET /metrics` with `Authorization: Bearer <METRICS_TOKEN>` (Prometheus: `authorization`
    in the scrape config)."""
    if not _authorized(request):
        response = HttpResponse("Unauthorized: Authorization: Bearer <METRICS_TOKEN>\n", status=401,
                                content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
