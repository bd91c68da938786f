"""SENTRY_DSN: without it nothing is initialised; with a DSN pointing at a loopback HTTP
server (standing in for Sentry), an error of a request arrives there carrying its request id."""

import gzip
import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sentry_sdk
from django.test import Client, override_settings

from core.sentry import init_sentry
from core.testing import free_port

ROOT = Path(__file__).resolve().parent.parent.parent


def _active_in_a_fresh_process(**env) -> str:
    code = "import sentry_sdk; print(sentry_sdk.get_client().is_active(), sentry_sdk.get_client().dsn)"
    full = {k: v for k, v in os.environ.items() if k != "SENTRY_DSN"} | env
    result = subprocess.run([sys.executable, "manage.py", "shell", "--no-imports", "-c", code], cwd=ROOT,
                            env=full, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_without_a_dsn_nothing_is_initialised():
    assert _active_in_a_fresh_process() == "False None"
    assert _active_in_a_fresh_process(SENTRY_DSN="http://key@127.0.0.1:9/1") == "True http://key@127.0.0.1:9/1"


class _Sentry(http.server.BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        encoding = self.headers.get("Content-Encoding")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "br":  # the SDK prefers brotli when the package is installed
            import brotli

            body = brotli.decompress(body)
        self.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def sentry_server():
    _Sentry.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Sentry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    init_sentry(f"http://publickey@127.0.0.1:{server.server_address[1]}/42")
    try:
        yield _Sentry.received
    finally:
        sentry_sdk.get_client().close(timeout=2)
        sentry_sdk.init(dsn=None)  # back to no client
        server.shutdown()
        server.server_close()


def _events(received) -> list[dict]:
    events = []
    for path, body in received:
        assert path.startswith("/api/42/")
        lines = body.split(b"\n")
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                events.append(json.loads(payload))
    return events


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="core.tests.urls_boom")
@pytest.mark.parametrize("path", ["/api/v1/boom-drf", "/api/v1/boom-django", "/boom"])
def test_an_error_arrives_with_the_request_id(sentry_server, path):
    response = Client(raise_request_exception=False).get(path, HTTP_X_REQUEST_ID=f"rid-{path[-4:]}")
    assert response.status_code == 500
    sentry_sdk.flush(timeout=10)

    events = _events(sentry_server)
    assert events, sentry_server
    assert {e["tags"]["request_id"] for e in events} == {f"rid-{path[-4:]}"}
    assert any("RuntimeError" in json.dumps(e.get("exception", {})) for e in events)
