"""The JSON shapes a device may send (HTTP body or MQTT payload), turned into readings.

Accepted, one or many:
    {"metric": "power_w", "ts": "2026-05-01T12:00:00Z", "value": 2150}          one reading
    [{"metric": ..., "ts": ..., "value": ...}, ...]                              a list
    {"readings": [...]}                                                          wrapped list
    {"ts": "2026-05-01T12:00:00Z", "values": {"power_w": 2150, "voltage_v": 231}} one instant
A reading may name its device ("device": serial); the authenticated sender decides which
device it is, and a reading naming another one is refused by the ingest service.
"""

import orjson


class PayloadError(ValueError):
    """The payload as a whole has no usable shape (not JSON, not an object or a list)."""


def parse_json(raw: bytes | str):
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"not valid JSON: {exc}") from None


def _expand(obj) -> list:
    if isinstance(obj, dict) and isinstance(obj.get("values"), dict) and "metric" not in obj:
        base = {k: v for k, v in obj.items() if k != "values"}
        return [{**base, "metric": code, "value": value} for code, value in obj["values"].items()]
    return [obj]


def readings_from_payload(body) -> list:
    """The readings of a decoded payload; items are passed on as sent (each is validated
    by the ingest service, so one bad reading does not refuse its neighbours)."""
    if isinstance(body, dict) and "readings" in body:
        body = body["readings"]
        if not isinstance(body, list):
            raise PayloadError('"readings" must be a list')
    if isinstance(body, dict):
        return _expand(body)
    if isinstance(body, list):
        if not any(type(item) is dict and "values" in item for item in body):
            return body  # plain readings: no copy
        out = []
        for item in body:
            out.extend(_expand(item))
        return out
    raise PayloadError("expected a reading object, a list of readings or {\"readings\": [...]}")
