"""The device-facing API (django-ninja), with its own docs at /api/v1/iot/device-api/docs.

Devices authenticate with their serial and secret, either as headers
`X-Device-Serial` + `X-Device-Secret` or as HTTP Basic (`serial:secret`). A batch holds up
to IOT_MAX_BATCH readings (413 beyond); each reading is accepted, a duplicate, or rejected
with its reason (rejected readings are kept in the dead-letter table). Errors use the
project's envelope `{"error", "message", "status_code", "details"}`.
"""

from django.conf import settings
from django.http import HttpRequest
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyHeader, HttpBasicAuth

from core.errors import envelope
from core.exceptions import DomainError
from iot.devices.services import device_authenticate
from iot.ingest.payload import PayloadError, PayloadTooLarge, parse_json, readings_from_payload
from iot.ingest.service import ingest


class DeviceHeaderAuth(APIKeyHeader):
    """`X-Device-Serial: <serial>` and `X-Device-Secret: <secret>`."""

    param_name = "X-Device-Secret"

    def authenticate(self, request: HttpRequest, key: str | None):
        serial = request.headers.get("X-Device-Serial", "")
        return device_authenticate(serial=serial, secret=key or "") if key else None


class DeviceBasicAuth(HttpBasicAuth):
    """HTTP Basic with the serial as user name and the secret as password."""

    def authenticate(self, request: HttpRequest, username: str, password: str):
        return device_authenticate(serial=username, secret=password)


device_api = NinjaAPI(
    title="CommonWatt device API",
    version="1.0.0",
    description=__doc__,
    urls_namespace="iot-device-api",
    docs_url="device-api/docs",
    openapi_url="device-api/openapi.json",
    auth=[DeviceHeaderAuth(), DeviceBasicAuth()],
)


def _error(request, name: str, message: str, status: int, details=None):
    return device_api.create_response(request, envelope(name, message, status, details), status=status)


@device_api.exception_handler(AuthenticationError)
def _auth_error(request, exc):
    return _error(request, "AuthenticationFailed", "Unknown device or wrong secret.", 401)


@device_api.exception_handler(NinjaValidationError)
def _validation_error(request, exc):
    return _error(request, "ValidationError", "Invalid request.", 400, {"errors": exc.errors})


@device_api.exception_handler(DomainError)
def _domain_error(request, exc):
    return _error(request, exc.error, exc.message, exc.status_code, exc.details)


@device_api.exception_handler(HttpError)
def _http_error(request, exc):
    names = {400: "ValidationError", 413: "PayloadTooLarge", 415: "UnsupportedMediaType"}
    return _error(request, names.get(exc.status_code, "Error"), str(exc), exc.status_code)


class ErrorItem(Schema):
    index: int
    reason: str


class IngestOut(Schema):
    accepted: int
    duplicate: int
    rejected: int
    corrected: int
    errors: list[ErrorItem]


class Envelope(Schema):
    error: str
    message: str
    status_code: int
    details: dict


READING_SCHEMA = {
    "type": "object",
    "required": ["metric", "ts", "value"],
    "properties": {
        "metric": {"type": "string", "example": "power_w"},
        "ts": {"type": "string", "format": "date-time", "example": "2026-05-01T12:00:00Z",
               "description": "ISO-8601 with offset, or epoch seconds / milliseconds."},
        "value": {"type": "number", "example": 2150.0},
        "device": {"type": "string", "description": "Optional; must be the sending device."},
    },
}
BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"oneOf": [
            {"type": "array", "items": READING_SCHEMA, "maxItems": 10000},
            {"type": "object", "required": ["readings"], "properties": {
                "readings": {"type": "array", "items": READING_SCHEMA, "maxItems": 10000}}},
            {"type": "object", "required": ["ts", "values"], "properties": {
                "ts": {"type": "string", "format": "date-time"},
                "values": {"type": "object", "additionalProperties": {"type": "number"},
                           "example": {"power_w": 2150, "voltage_v": 231.4}}}},
            READING_SCHEMA,
        ]}}},
    }
}


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise HttpError(400, "Invalid Content-Length.") from None


def _ingest(request: HttpRequest):
    if request.content_type not in ("application/json", ""):
        raise HttpError(415, "Send the readings as application/json.")
    # The declared size is checked before the body is read, the body's size and nesting
    # before it is parsed, and the number of readings before `values` are expanded.
    if _declared_length(request) > settings.IOT_MAX_BODY_BYTES:
        raise HttpError(413, f"A body holds at most {settings.IOT_MAX_BODY_BYTES} bytes.")
    try:
        readings = readings_from_payload(parse_json(request.body))
    except PayloadTooLarge as exc:
        raise HttpError(413, f"Payload too large: {exc}.") from None
    except PayloadError as exc:
        raise HttpError(400, f"Unusable payload: {exc}.") from None
    if not readings:
        raise HttpError(400, "The batch holds no readings.")
    return ingest(readings, source="http", device=request.auth).as_dict()


RESPONSES = {200: IngestOut, 400: Envelope, 401: Envelope, 413: Envelope, 415: Envelope}


@device_api.post("ingest", response=RESPONSES, openapi_extra=BODY_DOC, summary="Send readings",
                 operation_id="iot_ingest")
def ingest_readings(request):
    """Store a batch of readings of the authenticated device; answers per-item counts."""
    return _ingest(request)


@device_api.post("data", response=RESPONSES, openapi_extra=BODY_DOC, summary="Send readings (alias)",
                 operation_id="iot_data")
def ingest_data(request):
    """The seeds' `POST /api/iot/data`: the same as `POST /api/v1/iot/ingest`."""
    return _ingest(request)
