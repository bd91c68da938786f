"""The device edge over HTTP: no payload of any shape gets past the handler as an error, and
sizes are checked before anything is expanded (issue 8, the device edge)."""

import base64
import contextlib
import json
import time
import tracemalloc
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iot.ingest.payload import PayloadError, PayloadTooLarge, parse_json, readings_from_payload
from iot.models import DeadLetter
from iot.testing.registry import make_device, stored_readings

pytestmark = pytest.mark.django_db

PATH = "/api/v1/iot/ingest"


@pytest.fixture
def meter(world):
    return make_device("MTR-EDGE", kind="meter", protocol="http", plant=world.a.plant)


def send(raw: bytes, secret: str, *, content_type="application/json"):
    auth = base64.b64encode(f"MTR-EDGE:{secret}".encode()).decode()
    return Client().post(PATH, raw, content_type=content_type, HTTP_AUTHORIZATION=f"Basic {auth}")


def nested(depth: int, leaf="1") -> str:
    return "[" * depth + leaf + "]" * depth


def good(now, value):
    return json.dumps([{"metric": "power_w", "ts": now.isoformat(), "value": value}]).encode()


@pytest.mark.parametrize("document", [
    nested(1_100),                                                   # past orjson's own limit
    nested(1_000),                                                   # parses, then would recurse
    f'{{"metric": "power_w", "ts": "2026-05-01T00:00:00Z", "value": {nested(1_000)}}}',
    f'{{"readings": [{{"metric": "power_w", "ts": {nested(900)}, "value": 1}}]}}',
    f'{{"ts": "2026-05-01T00:00:00Z", "values": {{"power_w": {nested(990)}}}}}',
])
def test_a_deeply_nested_document_is_a_400_and_the_next_good_one_is_stored(meter, document):
    device, secret = meter
    now = timezone.now().replace(microsecond=0)

    response = send(document.encode(), secret)

    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"] == "ValidationError"
    assert "nested deeper than 32 levels" in response.json()["message"] or "not valid JSON" in \
        response.json()["message"]
    assert send(good(now, 5), secret).json()["accepted"] == 1
    assert stored_readings(device) == [("MTR-EDGE", "power_w", now, 5.0)]


def test_a_20_mb_values_body_is_refused_before_it_is_read(meter):
    _, secret = meter
    values = ",".join(f'"m{i}":{i}' for i in range(1_400_000))
    body = (f'{{"ts": "2026-05-01T00:00:00Z", "values": {{{values}}}}}').encode()
    assert len(body) > 20_000_000 - 2_000_000

    tracemalloc.start()
    started = time.monotonic()
    response = send(body, secret)
    elapsed = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert response.status_code == 413
    assert response.json()["error"] == "PayloadTooLarge"
    assert "at most 4194304 bytes" in response.json()["message"]
    # The test client's own copy of the body only: parsing it and expanding a million reading
    # dicts would take well over 300 MB.
    assert peak < 2.5 * len(body)
    assert elapsed < 5
    assert DeadLetter.objects.count() == 0


def test_readings_are_counted_before_the_values_are_expanded(meter):
    _, secret = meter
    values = ",".join(f'"m{i}":1' for i in range(10_001))  # ~150 kB: under the byte limit
    response = send((f'{{"ts": "2026-05-01T00:00:00Z", "values": {{{values}}}}}').encode(), secret)

    assert response.status_code == 413
    assert "at most 10000 readings (10001 sent)" in response.json()["message"]
    # and the count needs no expansion: a huge `values` object is refused without copies
    body = {"ts": "x", "values": {f"m{i}": 1 for i in range(200_000)}}
    tracemalloc.start()
    with pytest.raises(PayloadTooLarge):
        readings_from_payload(body)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 100_000


def test_the_size_check_reads_the_body_itself_when_no_length_is_declared():
    with pytest.raises(PayloadTooLarge):
        parse_json(b"[" + b"1," * 3_000_000 + b"1]")


# --- fuzzing ----------------------------------------------------------------------------

json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(json_leaf, lambda children: st.lists(children, max_size=5)
                           | st.dictionaries(st.text(max_size=8), children, max_size=5), max_leaves=40)
reading_like = st.fixed_dictionaries({}, optional={
    "metric": st.sampled_from(["power_w", "soc_pct", "nope"]) | json_values,
    "ts": st.sampled_from(["2026-05-01T00:00:00Z", "yesterday", 1.7e9, 1e300]) | json_values,
    "value": st.floats() | st.integers() | json_values,
    "device": st.sampled_from(["MTR-EDGE", "OTHER"]) | json_values,
    "values": st.dictionaries(st.text(max_size=10), json_values, max_size=5) | json_values,
    "readings": st.lists(json_values, max_size=5) | json_values,
})
documents = (
    st.binary(max_size=200)                                           # not UTF-8, not JSON
    | st.builds(lambda d, leaf: nested(d, leaf).encode(), st.integers(1, 1_500),
                st.sampled_from(["1", '{"a": 1}', "", '"x"']))
    | st.builds(lambda d: ('{"a":' * d + "1" + "}" * d).encode(), st.integers(1, 1_200))
    | st.builds(lambda x: json.dumps(x).encode(),
                json_values | reading_like | st.lists(reading_like, max_size=5))
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(document=documents)
def test_any_payload_answers_an_envelope_and_never_a_500(meter, document):
    _, secret = meter
    response = send(document, secret)
    assert response.status_code in (200, 400, 413), (response.status_code, document[:200])
    body = response.json()
    assert set(body) == ({"accepted", "duplicate", "rejected", "corrected", "errors"}
                         if response.status_code == 200 else {"error", "message", "status_code", "details"})


@settings(max_examples=200, deadline=None)
@given(document=documents)
def test_parsing_raises_only_payload_errors(document):
    with contextlib.suppress(PayloadError):
        readings_from_payload(parse_json(document))


def test_the_fuzzed_meter_still_stores_a_good_reading(meter):
    device, secret = meter
    now = timezone.now().replace(microsecond=0) - timedelta(seconds=1)
    send(nested(1_000).encode(), secret)
    send(b"\xff\xfe\x00", secret)
    assert send(good(now, 7), secret).status_code == 200
    assert stored_readings(device) == [("MTR-EDGE", "power_w", now, 7.0)]
