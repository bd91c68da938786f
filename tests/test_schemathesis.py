"""Fuzzing: schemathesis over every operation of `/api/v1/schema/` (issue 13).

Each operation is called as an admin, a referent and a member of the `world` fixture, with
generated valid and invalid input (bounded: `FUZZ_EXAMPLES` per operation and role), and
once without credentials. Every answer must be below 500, documented (status code, content
type, body shape) and, without credentials, 401/403 unless the operation is public.

The requests go through Django's WSGI handler in-process, inside the test's transaction:
what a fuzzed POST creates is rolled back, and on_commit hooks (Celery, emails) never run.
"""

import json
import os
import socket
import zlib

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import AccessToken
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))

# Operations that answer 2xx without credentials on purpose.
PUBLIC = {
    "POST /api/v1/auth/google", "POST /api/v1/auth/login", "POST /api/v1/auth/login-link",
    "POST /api/v1/auth/login-link-request", "POST /api/v1/auth/logout", "POST /api/v1/auth/password-reset",
    "POST /api/v1/auth/password-reset-request", "POST /api/v1/auth/refresh-token",
    "POST /api/v1/auth/register", "GET /api/v1/auth/verify-email", "POST /api/v1/login/access-token",
}

# Where schemathesis or OpenAPI cannot judge an operation: operation label -> (checks skipped, why).
# Server-sent events: OpenAPI 3.0 can only call the stream a string, schemathesis validates each
# event's JSON `data` against that schema (status, content type and no-5xx are still checked).
_SSE = "OpenAPI 3.0 has no schema for the events of a text/event-stream"
KNOWN: dict[str, tuple[tuple, str]] = {
    "GET /api/v1/iot/stream": ((response_schema_conformance,), _SSE),
    "GET /api/v1/simulation/progress": ((response_schema_conformance,), _SSE),
}

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _schema_dict() -> dict:
    """The schema `/api/v1/schema/` serves, generated in-process (no request, no database)."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))


def _load():
    # The same cases every run (derandomized); `FUZZ_SEED=<n>` explores other ones locally.
    seed = os.environ.get("FUZZ_SEED")
    generation = {"max-examples": EXAMPLES, "database": "none", "deterministic": seed is None}
    config = SchemathesisConfig.from_dict({
        "generation": generation,
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
        **({"seed": int(seed)} if seed else {}),
    })
    loaded = schemathesis.openapi.from_dict(_schema_dict(), config=config)
    loaded.app = get_wsgi_application()
    return loaded


schema = _load()


@pytest.fixture(autouse=True)
def _in_test_transaction():
    """Keep the test's connection open across requests, as Django's test client does."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _short_streams(settings):
    """The server-sent event streams end within a second when a case names a real object
    (served through WSGI, a stream is read to its end before the answer is checked)."""
    settings.IOT_SSE_HEARTBEAT_S = 0.2
    settings.IOT_STREAM_MAX_LIFETIME_S = 0.5
    settings.SIMULATION_SSE_MAX_S = 1
    settings.SIMULATION_SSE_POLL_S = 0.2


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """No fuzzed request may reach the network: only loopback and unix sockets."""
    real_connect = socket.socket.connect

    def connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            if host not in ("127.0.0.1", "::1", "localhost"):
                raise AssertionError(f"a fuzzed request tried the network: {address}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


def _ids(world) -> dict[str, list[int]]:
    """Real ids per path segment, so that some generated paths hit existing objects."""
    return {
        "communities": [world.a.community.id, world.b.community.id],
        "community": [world.a.community.id],
        "members": [world.a.membership.id],
        "plants": [world.a.plant.id, world.b.plant.id],
        "users": [world.a.member.id, world.a.referent.id],
        "history": [world.a.member.id],
        "latest": [world.a.member.id],
        "yearly": [world.a.community.id],
    }


def _seed_path(case, world) -> None:
    """Half of the cases (chosen from the case itself, so replays agree) get real ids."""
    params = case.path_parameters or {}
    if not params or zlib.crc32(repr(sorted(params.items())).encode()) % 2:
        return
    ids = _ids(world)
    segments = case.operation.path.strip("/").split("/")
    for i, segment in enumerate(segments):
        name = segment.strip("{}")
        if segment.startswith("{") and name in params and i and segments[i - 1] in ids:
            params[name] = ids[segments[i - 1]][0]


def _user(world, role):
    return {"admin": world.admin, "referent": world.a.referent, "member": world.a.member}[role]


def _skipped(label: str) -> list:
    return list(KNOWN.get(label, ((), ""))[0])


@pytest.mark.parametrize("role", ["admin", "referent", "member"])
@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_it_answers_every_input_as_documented(case, role, world):
    _seed_path(case, world)
    token = AccessToken.for_user(_user(world, role))
    checks = [c for c in CHECKS if c not in _skipped(case.operation.label)]
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=checks)


@schema.parametrize()
@settings(deadline=None, max_examples=1, suppress_health_check=list(HealthCheck))
def test_it_refuses_calls_without_credentials(case, world):
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    case.cookies = {}
    response = case.call()
    assert response.status_code < 500, response.text
    if case.operation.label not in PUBLIC:
        assert response.status_code in (401, 403), (case.operation.label, response.status_code)
