"""CORS: a page served from another origin on loopback calls the API with a token; the
browser lets it read the answer only when that origin is in CORS_ALLOWED_ORIGINS."""

import contextlib
import http.server
import threading

import pytest
from django.test import override_settings
from rest_framework_simplejwt.tokens import AccessToken

from core.testing import free_port

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGE = b"""<!doctype html><html><body><pre id="out">waiting</pre><script>
async function call(api, token) {
  try {
    const r = await fetch(api + "/api/v1/members", {headers: {"Authorization": "Bearer " + token}});
    const body = await r.json();
    document.getElementById("out").textContent =
      "status " + r.status + " total " + body.total +
      " rid " + (r.headers.get("X-Request-ID") ? "yes" : "no");
  } catch (e) {
    document.getElementById("out").textContent = "blocked " + e.name;
  }
}
</script></body></html>"""


@contextlib.contextmanager
def other_origin():
    """A static page on another loopback port: another origin than the API's."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _call_from(page, origin, api, token) -> str:
    page.goto(origin + "/")
    page.evaluate("([api, token]) => call(api, token)", [api, token])
    page.wait_for_function("() => document.getElementById('out').textContent !== 'waiting'")
    return page.locator("#out").inner_text()


def test_an_allowed_origin_calls_the_api_with_a_token(page, live_server, world):
    token = str(AccessToken.for_user(world.a.referent))
    with other_origin() as origin, override_settings(CORS_ALLOWED_ORIGINS=[origin]):
        assert _call_from(page, origin, live_server.url, token) == "status 200 total 2 rid yes"


def test_another_origin_cannot_read_the_api(page, live_server, world):
    token = str(AccessToken.for_user(world.a.referent))
    with other_origin() as origin, other_origin() as allowed, \
            override_settings(CORS_ALLOWED_ORIGINS=[allowed]):
        assert _call_from(page, origin, live_server.url, token) == "blocked TypeError"


def test_the_preflight_answers_only_allowed_origins(client):
    preflight = {"HTTP_ORIGIN": "https://app.example.org", "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "GET",
                 "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "authorization"}
    with override_settings(CORS_ALLOWED_ORIGINS=["https://app.example.org"]):
        ok = client.options("/api/v1/members", **preflight)
        page = client.options("/accounts/login/", **preflight)
    assert ok["Access-Control-Allow-Origin"] == "https://app.example.org"
    assert "authorization" in ok["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Origin" not in page  # only the API is shared
    with override_settings(CORS_ALLOWED_ORIGINS=[]):
        assert "Access-Control-Allow-Origin" not in client.options("/api/v1/members", **preflight)
