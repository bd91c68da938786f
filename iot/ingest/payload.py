"""The JSON shapes a device may send (HTTP body or MQTT payload), turned into readings.

Accepted, one or many:
    {"metric": "power_w", "ts": "2026-05-01T12:00:00Z", "value": 2150}          one reading
    [{"metric": ..., "ts": ..., "value": ...}, ...]                              a list
    {"readings": [...]}                                                          wrapped list
    {"ts": "2026-05-01T12:00:00Z", "values": {"power_w": 2150, "voltage_v": 231}} one instant
A reading may name its device ("device": serial); the authenticated sender decides which
device it is, and a reading naming another one is refused by the ingest service.

Bounds, checked before anything is expanded or handed on (HTTP and MQTT alike): at most
IOT_MAX_BODY_BYTES bytes, at most IOT_PAYLOAD_MAX_DEPTH levels of nesting (a deeper
document would exhaust the recursion of anything that walks it later: `json.dumps`,
`repr`, the database adapter), and at most IOT_MAX_BATCH readings, counted before the
`values` objects are expanded into readings.
"""

import orjson
from django.conf import settings


class PayloadError(ValueError):
    """The payload as a whole has no usable shape (not JSON, not an object or a list)."""


class PayloadTooLarge(PayloadError):
    """The payload is over a size limit (bytes or readings): HTTP answers 413."""


def nesting_depth_over(obj, limit: int) -> bool:
    """True when `obj` nests lists/objects deeper than `limit` levels. Iterative: it never
    recurses, whatever the document."""
    stack = [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def parse_json(raw: bytes | str, *, max_bytes: int | None = None, max_depth: int | None = None):
    """Decode a device's JSON document within the size and nesting bounds; PayloadError
    (PayloadTooLarge for the size) otherwise. Never raises anything else."""
    max_bytes = settings.IOT_MAX_BODY_BYTES if max_bytes is None else max_bytes
    max_depth = settings.IOT_PAYLOAD_MAX_DEPTH if max_depth is None else max_depth
    if not isinstance(raw, bytes | bytearray | memoryview | str):
        raise PayloadError(f"not valid JSON: a {type(raw).__name__} is not a document")
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"payload of {len(raw)} bytes is over the limit of {max_bytes} bytes")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"not valid JSON: {exc}") from None
    if nesting_depth_over(body, max_depth):
        raise PayloadError(f"nested deeper than {max_depth} levels")
    return body


def _is_instant(obj) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("values"), dict) and "metric" not in obj


def _expand(obj) -> list:
    if _is_instant(obj):
        base = {k: v for k, v in obj.items() if k != "values"}
        return [{**base, "metric": code, "value": value} for code, value in obj["values"].items()]
    return [obj]


def _count(items) -> int:
    return sum(len(item["values"]) if _is_instant(item) else 1 for item in items)


def readings_from_payload(body, *, limit: int | None = None) -> list:
    """The readings of a decoded payload; items are passed on as sent (each is validated
    by the ingest service, so one bad reading does not refuse its neighbours). More than
    `limit` (default IOT_MAX_BATCH) readings is PayloadTooLarge, counted before expanding."""
    limit = settings.IOT_MAX_BATCH if limit is None else limit
    if isinstance(body, dict) and "readings" in body:
        body = body["readings"]
        if not isinstance(body, list):
            raise PayloadError('"readings" must be a list')
    if isinstance(body, dict):
        body = [body]
    elif not isinstance(body, list):
        raise PayloadError("expected a reading object, a list of readings or {\"readings\": [...]}")
    count = _count(body)
    if count > limit:
        raise PayloadTooLarge(f"a batch holds at most {limit} readings ({count} sent)")
    if not any(_is_instant(item) for item in body):
        return body  # plain readings: no copy
    out = []
    for item in body:
        out.extend(_expand(item))
    return out
