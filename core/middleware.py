"""Request id, one structured log line per request, and JSON errors under /api/."""

import logging
import time
import uuid

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.shortcuts import render

from core.errors import ApiError, error_response
from core.exceptions import DomainError
from core.logging import request_id_var

logger = logging.getLogger("commonwatt.request")


def _user_label(request) -> str:
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return str(user.pk)
    return "-"


class _BothModes:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self._acall(request)
        self.before(request)
        return self.after(request, self.get_response(request))

    async def _acall(self, request):
        self.before(request)
        return self.after(request, await self.get_response(request))

    def before(self, request):
        pass

    def after(self, request, response):
        return response


class RequestIdMiddleware(_BothModes):
    """Gives each request an id (or keeps a sane X-Request-ID), logs it, returns it."""

    def before(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        request.request_id = rid
        request._started = time.perf_counter()
        request_id_var.set(rid)

    def after(self, request, response):
        response["X-Request-ID"] = request.request_id
        logger.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "user": _user_label(request),
                "duration_ms": round((time.perf_counter() - request._started) * 1000, 1),
            },
        )
        return response


# Django's own HTML answers (CSRF failure, bad request, unknown URL...) under /api/.
_HTML_ERRORS = {
    400: ("BadRequest", "Bad request."),
    403: ("PermissionDenied", "Forbidden (e.g. a missing CSRF token with cookie authentication)."),
    404: ("NotFound", "Not found."),
    405: ("MethodNotAllowed", "Method not allowed."),
    500: ("InternalServerError", "An unexpected error occurred."),
}


class ApiErrorMiddleware(_BothModes):
    """Under /api/, Django's own HTML 404/405/500 pages become the JSON error envelope."""

    def after(self, request, response):
        if not request.path.startswith("/api/") or response.get("Content-Type", "").startswith(
            ("application/json", "text/event-stream", "text/csv", "application/vnd")
        ):
            return response
        known = _HTML_ERRORS.get(response.status_code)
        if known is not None:
            return error_response(*known, response.status_code)
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, ApiError | DomainError):
            # A business error raised outside DRF (e.g. a locked account on the allauth or
            # admin login): same status everywhere, JSON under /api/, a page elsewhere.
            message = (str(exception.detail) if isinstance(exception, ApiError)
                       else exception.message)
            if request.path.startswith("/api/"):
                return error_response(exception.error, message,
                                      exception.status_code, exception.details)
            response = render(request, "error.html", {"status": exception.status_code,
                              "message": message}, status=exception.status_code)
            if getattr(exception, "retry_after_s", None):
                response["Retry-After"] = str(exception.retry_after_s)
            return response
        if not request.path.startswith("/api/"):
            return None
        logging.getLogger("commonwatt.errors").exception("unhandled error", exc_info=exception)
        return error_response("InternalServerError", "An unexpected error occurred.", 500)
