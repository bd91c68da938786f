"""Domain errors: what services raise. They speak the domain, not HTTP.

The DRF handler (`core.errors.api_exception_handler`), the device API, the portal and the
admin each map them to their own answer (STYLE.md habit 13):

| error | API status | meaning |
| --- | --- | --- |
| `NotFound` | 404 | the object does not exist *or* is outside the caller's scope |
| `Forbidden` | 403 | the caller can see it but may not do this |
| `Invalid` | 400 | the input breaks a rule; `details` = `{field: [messages]}` |
| `Conflict` | 409 | the state forbids it now (already done, concurrent change, duplicate) |
| `TooMany` | 429 | a limit or quota is reached (`retry_after_s` when known) |
"""

from __future__ import annotations

from django.utils.translation import gettext, gettext_noop

# the default messages (the classes' first docstring lines), for makemessages
_DEFAULT_MESSAGES = (
    gettext_noop("Not found."),
    gettext_noop("You do not have permission to perform this action."),
    gettext_noop("Invalid input."),
    gettext_noop("The request conflicts with the current state."),
    gettext_noop("Too many requests."),
)


class DomainError(Exception):
    status_code = 400
    error = "DomainError"

    def __init__(self, message: str = "", *, details: dict | None = None, error: str | None = None,
                 retry_after_s: int | None = None):
        super().__init__(message or self.default_message())
        self.message = message or self.default_message()
        self.details = details or {}
        if error:
            self.error = error
        self.retry_after_s = retry_after_s

    @classmethod
    def default_message(cls) -> str:
        # the first docstring line, in the request's language (the msgids are marked below)
        return gettext(cls.__doc__.strip().splitlines()[0]) if cls.__doc__ else cls.__name__


class NotFound(DomainError):
    """Not found."""

    status_code = 404
    error = "NotFound"


class Forbidden(DomainError):
    """You do not have permission to perform this action."""

    status_code = 403
    error = "PermissionDenied"


class Invalid(DomainError):
    """Invalid input."""

    status_code = 400
    error = "ValidationError"


class Conflict(DomainError):
    """The request conflicts with the current state."""

    status_code = 409
    error = "Conflict"


class TooMany(DomainError):
    """Too many requests."""

    status_code = 429
    error = "TooManyRequests"
