"""A loopback HTTP server for provider tests (push service, Twilio): records each request
and answers what the test says. No network leaves the machine."""

import contextlib
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict
    body: bytes


@dataclass
class Loopback:
    url: str
    requests: list = field(default_factory=list)
    status: int = 201
    body: bytes = b""
    content_type: str = "application/json"


@contextlib.contextmanager
def loopback_server(*, status: int = 201, body: bytes = b"", content_type: str = "application/json"):
    """Yields a `Loopback` whose `status`/`body` may be changed between requests."""
    state = Loopback(url="", status=status, body=body, content_type=content_type)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            state.requests.append(Recorded("POST", self.path, dict(self.headers.items()), body))
            self.send_response(state.status)
            self.send_header("Content-Type", state.content_type)
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
