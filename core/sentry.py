"""Optional error reporting to Sentry: only when `SENTRY_DSN` is set (nothing is initialised
otherwise). Each event carries the request id (tag `request_id`, the `X-Request-ID` answered
and logged), so a report, a log line and a user's "reference" meet."""

from core.logging import request_id_var


def _with_request_id(event, hint):
    rid = request_id_var.get()
    if rid and rid != "-":
        event.setdefault("tags", {})["request_id"] = rid
    return event


def init_sentry(dsn: str, *, environment: str = "", release: str = "", traces_sample_rate: float = 0.0):
    """Django, Celery and logging integrations: unhandled errors and `logger.exception` (the
    API's 500 envelope logs one) become events; no personal data is sent."""
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn, environment=environment or None, release=release or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        traces_sample_rate=traces_sample_rate,
        before_send=_with_request_id, default_integrations=True,
    )
