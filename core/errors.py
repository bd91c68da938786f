"""One error envelope for the whole API.

    {"error": "ValidationError", "message": "...", "status_code": 400, "details": {...}}

No stack trace or SQL reaches a client: unexpected errors become a 500 envelope that
carries the request id, and the traceback goes to the log under the same id.
"""

import logging

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.exceptions import DomainError
from core.logging import request_id_var

logger = logging.getLogger("commonwatt.errors")

_NAMES = {
    exceptions.ValidationError: "ValidationError",
    exceptions.ParseError: "ParseError",
    exceptions.AuthenticationFailed: "AuthenticationFailed",
    exceptions.NotAuthenticated: "NotAuthenticated",
    exceptions.PermissionDenied: "PermissionDenied",
    exceptions.NotFound: "NotFound",
    exceptions.MethodNotAllowed: "MethodNotAllowed",
    exceptions.NotAcceptable: "NotAcceptable",
    exceptions.UnsupportedMediaType: "UnsupportedMediaType",
    exceptions.Throttled: "TooManyRequests",
}


def envelope(error: str, message: str, status_code: int, details=None) -> dict:
    body = {"error": error, "message": message, "status_code": status_code, "details": details or {}}
    if status_code >= 500:
        body["request_id"] = request_id_var.get()
    return body


def error_response(error: str, message: str, status_code: int, details=None) -> JsonResponse:
    """A plain Django JSON response in the API envelope (for non-DRF views)."""
    return JsonResponse(envelope(error, message, status_code, details), status=status_code)


class ApiError(exceptions.APIException):
    """A business-rule error raised by services: carries its own name and details."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "ValidationError"

    def __init__(self, message: str, *, error: str = "ValidationError", status_code: int = 400,
                 details: dict | None = None):
        super().__init__(detail=message)
        self.error = error
        self.status_code = status_code
        self.details = details or {}


def _message_for(detail) -> str:
    if isinstance(detail, dict):
        for field, errs in detail.items():
            first = errs[0] if isinstance(errs, list) and errs else errs
            if isinstance(first, dict):
                return _message_for(first)
            return f"{field}: {first}" if field != "non_field_errors" else str(first)
    if isinstance(detail, list) and detail:
        return _message_for(detail[0])
    return str(detail)


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, DomainError):
        response = Response(envelope(exc.error, exc.message, exc.status_code, exc.details),
                            status=exc.status_code)
        if exc.retry_after_s:
            response["Retry-After"] = str(exc.retry_after_s)
        return response

    if isinstance(exc, ApiError):
        response = Response(envelope(exc.error, str(exc.detail), exc.status_code, exc.details),
                            status=exc.status_code)
        if getattr(exc, "retry_after_s", None):
            response["Retry-After"] = str(exc.retry_after_s)
        return response

    response = exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled API error", exc_info=exc)
        body = envelope("InternalServerError", "An unexpected error occurred.", 500)
        return Response(body, status=500)

    name = next((n for cls, n in _NAMES.items() if isinstance(exc, cls)), type(exc).__name__)
    detail = exc.detail
    if isinstance(exc, exceptions.ValidationError):
        details = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        message = _message_for(details)
    elif isinstance(detail, dict):
        # e.g. simplejwt's InvalidToken: {"detail": ..., "code": ..., "messages": [...]}
        details = {}
        message = str(detail.get("detail") or _message_for(detail))
    else:
        details = {}
        message = str(detail)
    headers = dict(response.items())
    return Response(envelope(name, message, response.status_code, details),
                    status=response.status_code, headers=headers)
